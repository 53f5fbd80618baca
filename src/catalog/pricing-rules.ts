import { Decimal } from "decimal.js";
import { UNSIGNED_DECIMAL_PATTERN } from "../platform/validation/decimal.js";
import { minorUnitDigits, toMinorUnits } from "./money.js";
import { PRICING_MODELS, type PriceTier, type Pricing, type PricingModel } from "./pricing.js";

/** One tier as a catalog file or an override request writes it. */
export interface RawTier {
  up_to?: string | null | undefined;
  unit_amount?: string | undefined;
  flat_amount?: string | undefined;
}

/** A `pricing` object as a catalog file or an override request writes it. */
export interface RawPricing {
  model?: string | undefined;
  unit_amount?: string | undefined;
  tiers?: RawTier[] | undefined;
  tiers_from?: string | undefined;
  package_size?: string | undefined;
  package_amount?: string | undefined;
  round?: string | undefined;
}

/** Stripe holds at most this many tiers on a price. */
export const MAX_TIERS = 50;

const FIELDS_OF: Record<PricingModel, readonly (keyof RawPricing)[]> = {
  per_unit: ["unit_amount"],
  graduated: ["tiers", "tiers_from"],
  volume: ["tiers", "tiers_from"],
  package: ["package_size", "package_amount", "round"],
};

/**
 * Reads a `pricing` object, reporting every problem with its path under `at`: the model, the
 * fields it needs and only those, tiers ascending with whole bounds and an unbounded last one,
 * each tier with an amount, no negative amounts, a positive whole package size, and flat
 * amounts in whole minor units of `currency`, as Stripe holds them (unit amounts have at most
 * 10 decimals, within Stripe's 12 decimals of the minor unit). Returns the price when there is
 * no problem.
 */
export function readPricing(
  raw: RawPricing,
  currency: string,
  at: string,
): { pricing: Pricing | undefined; problems: string[] } {
  const problems: string[] = [];
  const model = raw.model as PricingModel;
  if (!PRICING_MODELS.includes(model)) {
    problems.push(`${at}.model: must be one of ${PRICING_MODELS.join(", ")}`);
    return { pricing: undefined, problems };
  }
  for (const field of Object.keys(raw) as (keyof RawPricing)[]) {
    if (field !== "model" && raw[field] !== undefined && !FIELDS_OF[model].includes(field)) {
      problems.push(`${at}.${field}: is not a field of a ${model} price`);
    }
  }
  const amount = (value: string | undefined, path: string, whole: boolean) => {
    if (value === undefined) return undefined;
    if (!UNSIGNED_DECIMAL_PATTERN.test(value)) {
      problems.push(`${path}: must be a non-negative decimal string such as "0.002"`);
      return undefined;
    }
    const parsed = new Decimal(value);
    if (whole && !toMinorUnits(parsed, currency).isInteger()) {
      problems.push(
        `${path}: must be a whole number of ${currency}'s minor unit (${minorUnitDigits(currency)} decimals)`,
      );
    }
    return parsed;
  };
  const count = (value: string | undefined, path: string) => {
    if (value === undefined) return undefined;
    if (
      !UNSIGNED_DECIMAL_PATTERN.test(value) ||
      !new Decimal(value).isInteger() ||
      new Decimal(value).lte(0)
    ) {
      problems.push(`${path}: must be a whole number above 0`);
      return undefined;
    }
    return new Decimal(value);
  };
  const required = <T>(value: T | undefined, path: string, missing: boolean) => {
    if (missing) problems.push(`${path}: is required for a ${model} price`);
    return value;
  };

  let pricing: Pricing | undefined;
  if (model === "per_unit") {
    const unitAmount = required(
      amount(raw.unit_amount, `${at}.unit_amount`, false),
      `${at}.unit_amount`,
      raw.unit_amount === undefined,
    );
    if (unitAmount) pricing = { model, unitAmount };
  } else if (model === "package") {
    const packageSize = required(
      count(raw.package_size, `${at}.package_size`),
      `${at}.package_size`,
      raw.package_size === undefined,
    );
    const packageAmount = required(
      amount(raw.package_amount, `${at}.package_amount`, false),
      `${at}.package_amount`,
      raw.package_amount === undefined,
    );
    if (raw.round !== undefined && raw.round !== "up" && raw.round !== "down") {
      problems.push(`${at}.round: must be up or down`);
    }
    if (packageSize && packageAmount) {
      pricing = { model, packageSize, packageAmount, round: raw.round === "down" ? "down" : "up" };
    }
  } else {
    if (
      raw.tiers_from !== undefined &&
      raw.tiers_from !== "zero" &&
      raw.tiers_from !== "included"
    ) {
      problems.push(`${at}.tiers_from: must be zero or included`);
    }
    const tiers = readTiers(raw.tiers ?? [], `${at}.tiers`, model, { amount, count, problems });
    if (tiers)
      pricing = { model, tiers, tiersFrom: raw.tiers_from === "included" ? "included" : "zero" };
  }
  return { pricing: problems.length === 0 ? pricing : undefined, problems };
}

function readTiers(
  raw: RawTier[],
  at: string,
  model: PricingModel,
  read: {
    amount: (value: string | undefined, path: string, whole: boolean) => Decimal | undefined;
    count: (value: string | undefined, path: string) => Decimal | undefined;
    problems: string[];
  },
): PriceTier[] | undefined {
  const { problems } = read;
  if (raw.length === 0) {
    problems.push(`${at}: a ${model} price needs at least one tier`);
    return undefined;
  }
  if (raw.length > MAX_TIERS) problems.push(`${at}: has more than ${MAX_TIERS} tiers`);
  const tiers: PriceTier[] = [];
  let below = new Decimal(0);
  for (const [i, tier] of raw.entries()) {
    const path = `${at}[${i}]`;
    const last = i === raw.length - 1;
    let upTo: Decimal | undefined;
    if (tier.up_to === null || tier.up_to === undefined) {
      if (!last) problems.push(`${path}.up_to: only the last tier is unbounded`);
    } else {
      upTo = read.count(tier.up_to, `${path}.up_to`);
      if (last) problems.push(`${path}.up_to: the last tier must be unbounded (null)`);
      if (upTo?.lte(below)) {
        problems.push(`${path}.up_to: must be above the previous tier's ${below.toFixed()}`);
      }
      below = upTo ?? below;
    }
    if (tier.unit_amount === undefined && tier.flat_amount === undefined) {
      problems.push(`${path}: needs unit_amount, flat_amount or both`);
    }
    const unitAmount = read.amount(tier.unit_amount, `${path}.unit_amount`, false);
    const flatAmount = read.amount(tier.flat_amount, `${path}.flat_amount`, true);
    tiers.push({
      upTo,
      unitAmount: unitAmount ?? new Decimal(0),
      flatAmount: flatAmount ?? new Decimal(0),
    });
  }
  return tiers;
}
