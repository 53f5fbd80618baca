import type { Decimal } from "decimal.js";

/** Extra quantity of one resource given to one tenant, drawn after the period's allowance. */
export interface Grant {
  id: string;
  tenantId: string;
  resourceType: string;
  quantity: Decimal;
  /** What is left to draw; for allocations, where nothing is drawn, always `quantity`. */
  remaining: Decimal;
  /** When the grant and its remainder lapse; undefined: never. */
  expireTime: Date | undefined;
  reason: string;
  createTime: Date;
  voidTime: Date | undefined;
}

/** Whether a grant still counts at a given time. */
export type GrantState = "active" | "expired" | "voided" | "used_up";

/** A tenant's limit for one resource in place of its plan's, until `expireTime`. */
export interface Override {
  tenantId: string;
  resourceType: string;
  /** The new allowance; undefined: unlimited. */
  limit: Decimal | undefined;
  expireTime: Date | undefined;
  createTime: Date;
  updateTime: Date;
}

/**
 * What a tenant has beyond its plan, as the plan cache keeps it: overrides in force and the
 * resources with active grants (whose balances are read in the admission batch, never cached).
 */
export interface TenantAdjustments {
  overrides: ReadonlyMap<string, Override>;
  grantResources: ReadonlySet<string>;
  /** When this view goes stale on its own: the earliest expiry among them. */
  validUntil: Date | undefined;
}

/** The state of a grant at `now`. */
export function grantState(grant: Grant, now: Date): GrantState {
  if (grant.voidTime !== undefined) return "voided";
  if (grant.expireTime !== undefined && grant.expireTime <= now) return "expired";
  return grant.remaining.isZero() ? "used_up" : "active";
}
