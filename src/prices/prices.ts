import type { Pricing } from "../catalog/pricing.js";

/**
 * A tenant's negotiated price for one counter (a resource's total, or a dimension limit, by
 * `counterName`) in place of its plan's, from `startTime` until `endTime` or its deletion.
 */
export interface PriceOverride {
  id: string;
  tenantId: string;
  /** The counter it prices (`counterName`). */
  counter: string;
  pricing: Pricing;
  /** The currency its amounts are in: the tenant's plan's when it was set. */
  currency: string;
  startTime: Date;
  /** Undefined: until deleted. */
  endTime: Date | undefined;
  createTime: Date;
  /** When it was deleted, which ends it then; undefined while not. */
  deleteTime: Date | undefined;
  /** The price created for it at the billing provider; undefined until it started there. */
  providerPriceId: string | undefined;
}

/** The overrides that price a tenant's period, by counter. */
export type PeriodPrices = ReadonlyMap<string, PriceOverride>;

/** Whether an override prices usage at `at`. */
export function inForce(override: PriceOverride, at: Date): boolean {
  const t = at.getTime();
  return (
    override.startTime.getTime() <= t &&
    (override.endTime === undefined || t < override.endTime.getTime()) &&
    (override.deleteTime === undefined || t < override.deleteTime.getTime())
  );
}

/** Whether an override has ended (or was deleted) by `now`. */
export function hasEnded(override: PriceOverride, now: Date): boolean {
  const end = Math.min(
    override.endTime?.getTime() ?? Number.POSITIVE_INFINITY,
    override.deleteTime?.getTime() ?? Number.POSITIVE_INFINITY,
  );
  return end <= now.getTime();
}
