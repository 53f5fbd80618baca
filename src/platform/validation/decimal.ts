import { Decimal } from "decimal.js";
import type { FieldChecks } from "./field-checks.js";

// At most 20 integer and 10 fractional digits: no exponents, no NaN or Infinity, no leading
// zeros, so every accepted string has exactly one meaning in numeric.
const DIGITS = "(0|[1-9][0-9]{0,19})(\\.[0-9]{1,10})?";

/** A non-negative decimal string within the contract's bounds (limits, prices). */
export const UNSIGNED_DECIMAL_PATTERN = new RegExp(`^${DIGITS}$`);

/** A decimal string within the contract's bounds, optionally negative (quantities). */
export const DECIMAL_PATTERN = new RegExp(`^-?${DIGITS}$`);

/** What sign a quantity may have. */
export type QuantitySign = "positive" | "non-negative" | "non-zero";

/**
 * Parses a quantity from the wire: empty means `"1"`; otherwise a plain decimal string within
 * the contract's bounds and of the allowed sign. Records a violation and returns undefined when
 * it is not acceptable.
 */
export function parseQuantity(
  checks: FieldChecks,
  field: string,
  raw: string,
  sign: QuantitySign,
  emptyMeans = "1",
): Decimal | undefined {
  const text = raw === "" ? emptyMeans : raw;
  if (
    !checks.check(
      DECIMAL_PATTERN.test(text),
      field,
      'must be a decimal string such as "1" or "10.5" (at most 20 integer and 10 fractional digits)',
    )
  ) {
    return undefined;
  }
  const value = new Decimal(text);
  const ok =
    sign === "positive"
      ? value.isPositive() && !value.isZero()
      : sign === "non-negative"
        ? !value.isNegative()
        : !value.isZero();
  return checks.check(ok, field, `must be ${sign.replace("-", " ")}`) ? value : undefined;
}
