import type { Decimal } from "decimal.js";
import type { Plan, ResourceKind } from "../catalog/catalog.js";
import type { Aggregation } from "../catalog/meters.js";
import type { BillingCycle } from "../catalog/periods.js";
import type { Pricing } from "../catalog/pricing.js";
import type { TenantAdjustments } from "../credits/credits.js";
import type { PeriodPrices } from "../prices/prices.js";

/**
 * The plan that governs a tenant right now, with the period consumables count in: the live
 * subscription's current period, or the calendar month (UTC) on the default plan.
 */
export interface TenantPlan extends BillingCycle {
  plan: Plan;
  /** Overrides in force and the resources with active grants. */
  adjustments: TenantAdjustments;
  /** The negotiated prices that price this period (in force at its end), by counter. */
  prices: PeriodPrices;
}

/**
 * One resource of a tenant's plan with its limit and usage: its total, or the usage carrying
 * some dimension values (`dimensions`) under a dimension limit.
 */
export interface Entitlement {
  resourceType: string;
  /** Empty for the resource's total; else the values of the dimension limit. */
  dimensions: Record<string, string>;
  aggregation: Aggregation;
  kind: ResourceKind;
  /**
   * The most that may be used before calls are denied: `included` plus `granted` for a hard
   * limit, plus the overage cap for a soft one; undefined when nothing is ever denied.
   */
  limit: Decimal | undefined;
  /**
   * What the period includes: the plan's allowance or the override's; undefined when nothing
   * limits the resource.
   */
  included: Decimal | undefined;
  /**
   * What grants add to this period's limit: drawn this period plus what remains of active
   * grants (consumables), or the quantity of active grants (allocations).
   */
  granted: Decimal;
  /** What remains of active grants, not yet drawn. */
  grantRemaining: Decimal;
  /** Where `included` comes from. */
  limitSource: "plan" | "override";
  /** How the period's usage is priced (`pricing.ts`); undefined for a hard limit. */
  pricing: Pricing | undefined;
  /** The tenant's price override that sets `pricing`; undefined when the plan's does. */
  priceOverrideId: string | undefined;
  currency: string;
  used: Decimal;
  reserved: Decimal;
  /** The period's bounds; for a rolling window, the window ending now. */
  periodStart: Date;
  periodEnd: Date;
  planId: string;
  /** The rolling window's length in milliseconds; undefined: the billing period. */
  window?: number | undefined;
}

/** Why a check was not allowed. */
export type DenialReason = "limit_exceeded" | "overage_cap_reached" | "resource_not_in_plan";

/** The answer of a check-style call. */
export interface CheckResult {
  allowed: boolean;
  reason: string;
  denialReason: DenialReason | undefined;
  entitlement: Entitlement;
  /** On a rolling window, when the batch decided and when units free up. */
  window?: WindowTiming | undefined;
}

/**
 * When a call on a rolling window was decided (the database's clock, read with the window's
 * counter locked), when its oldest counted unit leaves the window, and, for a denial, when
 * enough will have left for the call to fit (undefined: it never can).
 */
export interface WindowTiming {
  decisionTime: Date;
  resetTime: Date | undefined;
  retryTime: Date | undefined;
}

/** Lifecycle states of a reservation. */
export type ReservationState = "held" | "committed" | "released" | "expired";

/** An amount held against a limit. */
export interface Reservation {
  id: string;
  tenantId: string;
  resourceType: string;
  quantity: Decimal;
  state: ReservationState;
  expireTime: Date;
  committedQuantity: Decimal | undefined;
  createTime: Date;
  /** The counter period the amount is held in, and where a commit records it. */
  periodStart: Date;
  /**
   * The counter the amount is held on (`counterName`: a dimension limit's, else the
   * resource's), and the others it is held on too (the total and other dimension limits).
   */
  counter: string;
  parts: string[];
}

/** The answer of Reserve: a check result plus the hold, when allowed. */
export interface ReserveResult extends CheckResult {
  reservation: Reservation | undefined;
}

/** The answer of a commit or release. */
export interface ReservationResult {
  reservation: Reservation;
  entitlement: Entitlement;
}

/** A validated request naming one resource of one tenant. */
export interface ResourceRequest {
  tenantId: string;
  resourceType: string;
  quantity: Decimal;
  /** The dimension values the usage carries (the meter's declared dimensions only). */
  dimensions: Record<string, string>;
  /** The member a `unique_count` call counts (the request's `dimensions[unique_key]`). */
  member: string | undefined;
}
