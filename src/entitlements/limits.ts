import { Decimal } from "decimal.js";
import {
  ceilingOf,
  DEFAULT_ALERT_THRESHOLDS,
  type PlanCatalog,
  type PlanLimit,
} from "../catalog/catalog.js";
import { counterName, parseCounterName, resourceOfCounter } from "../catalog/meters.js";
import { ALLOCATION_PERIOD, WINDOW_PERIOD } from "../catalog/periods.js";
import type { LimitInfo } from "./admission-wire.js";
import type { Entitlement, ResourceRequest, TenantPlan } from "./entitlements.js";
import type { Counter, CounterKey } from "./store.js";

/**
 * The limit of a counter (a resource's total, or one of its dimension limits: `counterName`)
 * in force for a tenant, and where it comes from.
 */
export interface LimitInForce {
  /** Undefined when neither the plan nor an override has the resource. */
  limit: PlanLimit | undefined;
  source: "plan" | "override";
}

/** The rules that turn a tenant's plan, overrides and grants into limits; pure but for `now`. */
export interface LimitRules {
  /**
   * The limit in force: the override's allowance in place of the plan's while it lasts (on
   * the plan's terms otherwise: overage, thresholds), else the plan's.
   */
  limitOf(tenantPlan: TenantPlan, counter: string): LimitInForce;
  /**
   * Every counter the tenant has a limit for: its plan's totals and dimension limits, and
   * those only an override adds.
   */
  resourcesOf(tenantPlan: TenantPlan): string[];
  /** The counter a request counts on: the current period, or the one period of allocations. */
  counterKeyOf(
    tenantPlan: TenantPlan,
    req: Pick<ResourceRequest, "tenantId" | "resourceType">,
  ): CounterKey;
  /**
   * A counter's entitlement as callers see it, from its values and `room`, what remains of
   * active grants. A resource the plan does not have reads as a hard limit of zero.
   */
  entitlementOf(
    tenantPlan: TenantPlan,
    counter: string,
    values: Counter,
    room?: Decimal,
  ): Entitlement;
  /** What the admission batch needs to know of a limit; undefined when nothing limits it. */
  limitInfoOf(tenantPlan: TenantPlan, limit: PlanLimit | undefined): LimitInfo | undefined;
}

/** Creates the limit rules over a catalog; `now` decides whether an override has expired. */
export function createLimitRules(catalog: PlanCatalog, now: () => Date): LimitRules {
  const kindOf = (counter: string) =>
    catalog.resourceKinds.get(resourceOfCounter(counter)) ?? "consumable";

  const limitOf = (tenantPlan: TenantPlan, counter: string): LimitInForce => {
    const planLimit = tenantPlan.plan.limitsByCounter.get(counter);
    const override = tenantPlan.adjustments.overrides.get(counter);
    if (override === undefined || (override.expireTime && override.expireTime <= now())) {
      return { limit: planLimit, source: "plan" };
    }
    const { resourceType, dimensions } = parseCounterName(counter);
    return {
      limit: {
        resourceType,
        kind: kindOf(counter),
        overage: planLimit?.overage,
        alertThresholds: planLimit?.alertThresholds ?? [...DEFAULT_ALERT_THRESHOLDS],
        limit: override.limit,
        dimensions,
        dimensionLimits: planLimit?.dimensionLimits ?? [],
        window: planLimit?.window,
      },
      source: "override",
    };
  };

  return {
    limitOf,

    resourcesOf: (tenantPlan) => [
      ...new Set([
        ...tenantPlan.plan.limitsByCounter.keys(),
        ...[...tenantPlan.adjustments.overrides.keys()].filter(
          (r) => limitOf(tenantPlan, r).source === "override",
        ),
      ]),
    ],

    counterKeyOf: (tenantPlan, req) => ({
      tenantId: req.tenantId,
      resourceType: req.resourceType,
      periodStart:
        kindOf(req.resourceType) === "allocation"
          ? ALLOCATION_PERIOD
          : limitOf(tenantPlan, resourceOfCounter(req.resourceType)).limit?.window !== undefined
            ? WINDOW_PERIOD
            : tenantPlan.periodStart,
    }),

    entitlementOf(tenantPlan, name, counter, room = new Decimal(0)) {
      const { limit, source } = limitOf(tenantPlan, name);
      const kind = kindOf(name);
      const { resourceType, dimensions } = parseCounterName(name);
      const priced = tenantPlan.prices.get(name);
      const included = limit ? limit.limit : new Decimal(0);
      const limited = included !== undefined && limit !== undefined;
      // An allocation's grants are whole, as a window's are (they widen it while active); a
      // consumable's are what the counter drew plus the rest.
      const windowed = limit?.window !== undefined;
      const granted = !limited
        ? new Decimal(0)
        : kind === "allocation" || windowed
          ? room
          : counter.granted.plus(room);
      return {
        resourceType,
        dimensions,
        aggregation: catalog.meterOf(resourceType).aggregation,
        kind,
        limit: (limit ? ceilingOf(limit) : included)?.plus(granted),
        included,
        granted,
        grantRemaining: limited ? room : new Decimal(0),
        limitSource: source,
        // A negotiated price replaces the plan's where the plan prices the resource at all.
        pricing: limit?.overage && (priced?.pricing ?? limit.overage.pricing),
        priceOverrideId: limit?.overage && priced?.id,
        currency: tenantPlan.plan.currency,
        used: counter.used,
        reserved: counter.reserved,
        periodStart: windowed
          ? new Date(now().getTime() - (limit.window as number))
          : tenantPlan.periodStart,
        periodEnd: windowed ? now() : tenantPlan.periodEnd,
        planId: tenantPlan.plan.id,
        window: limit?.window,
      };
    },

    limitInfoOf(tenantPlan, limit) {
      if (limit?.limit === undefined) return undefined;
      return {
        allowance: limit.limit,
        cap: limit.overage?.cap,
        hard: limit.overage === undefined,
        grants: tenantPlan.adjustments.grantResources.has(
          counterName(limit.resourceType, limit.dimensions),
        ),
        // A window's grants widen it while active, as an allocation's do: nothing is drawn.
        allocation: limit.kind === "allocation" || limit.window !== undefined,
        thresholds: limit.window === undefined ? limit.alertThresholds : [],
        planId: tenantPlan.plan.id,
        windowMs: limit.window,
      };
    },
  };
}
