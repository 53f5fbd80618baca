import { Decimal } from "decimal.js";

/**
 * Digits after the decimal point of a currency's minor unit (2 for usd, 0 for jpy, 3 for kwd),
 * from ICU's ISO 4217 data; 2 for a code ICU does not know.
 */
export function minorUnitDigits(currency: string): number {
  try {
    return new Intl.NumberFormat("en", { style: "currency", currency }).resolvedOptions()
      .maximumFractionDigits as number;
  } catch {
    return 2;
  }
}

/** Rounds an amount once, half-up (away from zero on a tie), to the currency's minor unit. */
export function roundToMinorUnit(amount: Decimal, currency: string): Decimal {
  return amount.toDecimalPlaces(minorUnitDigits(currency), Decimal.ROUND_HALF_UP);
}

/** An amount in major units as the provider's minor units (cents for usd), exact. */
export function toMinorUnits(amount: Decimal, currency: string): Decimal {
  return amount.times(new Decimal(10).pow(minorUnitDigits(currency)));
}
