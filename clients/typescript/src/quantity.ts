/**
 * A quantity as callers hold it: a decimal string (`"10.5"`), a whole number, a bigint, or a
 * decimal object such as decimal.js's `Decimal` (anything with `toFixed()`). Fractional JS
 * numbers are refused, so a float can never silently round a billed amount.
 */
export type Quantity = string | number | bigint | { toFixed(): string };

/** The wire form of a quantity: a decimal string. */
export function toQuantityString(quantity: Quantity): string {
  if (typeof quantity === "string") return quantity;
  if (typeof quantity === "bigint") return quantity.toString();
  if (typeof quantity === "number") {
    if (!Number.isSafeInteger(quantity)) {
      throw new RangeError(
        `quantity ${quantity} is not a whole number; pass fractional amounts as strings or Decimals`,
      );
    }
    return String(quantity);
  }
  return quantity.toFixed();
}
