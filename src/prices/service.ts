import { randomBytes } from "node:crypto";
import { Decimal } from "decimal.js";
import type { AuditedChange } from "../billing/audited-change.js";
import type { PlanCatalog } from "../catalog/catalog.js";
import { type Pricing, pricingToJson } from "../catalog/pricing.js";
import type { Actor } from "../platform/calls/actor.js";
import type { Clock } from "../platform/clock/clock.js";
import { FailedPreconditionError, NotFoundError } from "../platform/errors/domain-error.js";
import { validateTenantId } from "../platform/validation/field-rules.js";
import {
  type RawPriceOverride,
  validatePriceOverride,
  validatePriceOverrideRef,
} from "./inputs.js";
import { hasEnded, type PriceOverride } from "./prices.js";
import type { PriceStore } from "./store.js";

/** Negotiated prices of one tenant. Admin only. */
export interface PriceService {
  setOverride(actor: Actor, raw: RawPriceOverride): Promise<PriceOverride>;
  deleteOverride(
    actor: Actor,
    raw: { tenantId: string; id: string; requestId: string },
  ): Promise<PriceOverride>;
  listOverrides(tenantId: string, includeEnded: boolean): Promise<PriceOverride[]>;
}

/** What the price service is built from. */
export interface PriceServiceDeps {
  store: PriceStore;
  /** Runs a change once per request id, audited and announced (billing's audited changes). */
  change: <T>(change: AuditedChange<T>) => Promise<T>;
  catalog: PlanCatalog;
  clock: Clock;
  /** The currency of the plan the tenant is on now (the default plan's without one). */
  currencyOf(tenantId: string): Promise<string>;
}

/**
 * Creates the price service. An override is checked by the catalog's pricing rules in the
 * currency of the tenant's plan, may not overlap another of the same counter, and is never
 * removed: a deletion ends it at that moment, and the audit trail keeps both.
 */
export function createPriceService(deps: PriceServiceDeps): PriceService {
  const { store, change, catalog, clock } = deps;
  return {
    async setOverride(actor, raw) {
      const tenantId = raw.tenantId.toLowerCase();
      const currency = await deps.currencyOf(validateTenantId(raw.tenantId));
      const input = validatePriceOverride(catalog, raw, currency, clock.now());
      return change<PriceOverride>({
        actor,
        tenantId,
        requestId: raw.requestId,
        operation: "price_override.set",
        // What was asked, not when: a retry without a start time asks for the same override.
        input: {
          tenantId,
          counter: input.counter,
          pricing: pricingToJson(input.pricing),
          startTime: raw.startTime?.toISOString(),
          endTime: raw.endTime?.toISOString(),
        },
        revive: revivePriceOverride,
        work: async (trx, now) => {
          const clashes = await store.overlapping(
            trx,
            tenantId,
            input.counter,
            input.startTime,
            input.endTime,
          );
          if (clashes.length > 0) {
            throw new FailedPreconditionError(
              `overlaps price override ${clashes.map((o) => o.id).join(", ")} of ${input.counter}; delete it or choose a time after it ends`,
            );
          }
          const override: PriceOverride = {
            id: `pro_${randomBytes(12).toString("hex")}`,
            tenantId,
            counter: input.counter,
            pricing: input.pricing,
            currency,
            startTime: input.startTime,
            endTime: input.endTime,
            createTime: now,
            deleteTime: undefined,
            providerPriceId: undefined,
          };
          await store.insert(trx, override);
          return { result: override, target: override.id, before: undefined, after: override };
        },
      });
    },

    async deleteOverride(actor, raw) {
      const tenantId = validatePriceOverrideRef(raw);
      return change<PriceOverride>({
        actor,
        tenantId,
        requestId: raw.requestId,
        operation: "price_override.delete",
        input: raw.id,
        revive: revivePriceOverride,
        work: async (trx, now) => {
          const before = await store.lock(trx, tenantId, raw.id);
          if (before === undefined) throw new NotFoundError(`price override ${raw.id} not found`);
          if (hasEnded(before, now)) {
            throw new FailedPreconditionError(`price override ${raw.id} has already ended`);
          }
          await store.markDeleted(trx, tenantId, raw.id, now);
          const after = { ...before, deleteTime: now };
          return { result: after, target: before.id, before, after };
        },
      });
    },

    async listOverrides(rawTenantId, includeEnded) {
      const tenantId = validateTenantId(rawTenantId);
      return store.list(tenantId, includeEnded ? undefined : clock.now());
    },
  };
}

// A stored answer back: times from ISO strings, the price's decimals from plain strings.
function revivePriceOverride(stored: unknown): PriceOverride {
  const o = stored as Record<string, unknown>;
  const time = (value: unknown) => (value == null ? undefined : new Date(value as string));
  return {
    ...(o as unknown as PriceOverride),
    pricing: revivePricing(o.pricing as Record<string, unknown>),
    startTime: new Date(o.startTime as string),
    endTime: time(o.endTime),
    createTime: new Date(o.createTime as string),
    deleteTime: time(o.deleteTime),
  };
}

function revivePricing(p: Record<string, unknown>): Pricing {
  const d = (value: unknown) => new Decimal(value as string);
  if (p.model === "per_unit") return { model: "per_unit", unitAmount: d(p.unitAmount) };
  if (p.model === "package") {
    return {
      model: "package",
      packageSize: d(p.packageSize),
      packageAmount: d(p.packageAmount),
      round: p.round as "up" | "down",
    };
  }
  return {
    model: p.model as "graduated" | "volume",
    tiersFrom: p.tiersFrom as "zero" | "included",
    tiers: (p.tiers as Record<string, unknown>[]).map((t) => ({
      upTo: t.upTo == null ? undefined : d(t.upTo),
      unitAmount: d(t.unitAmount),
      flatAmount: d(t.flatAmount),
    })),
  };
}
