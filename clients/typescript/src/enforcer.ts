import { EntitlementEnforcementError } from "./errors.js";
import type {
  CheckResponse,
  CommitReservationResponse,
  Entitlement,
  ReleaseReservationResponse,
  ReserveResponse,
} from "./gen/tollgate/v1/entitlement_service_pb.js";
import { type Quantity, toQuantityString } from "./quantity.js";
import type { TollgateClient } from "./tollgate-client.js";

/** The answer of a check: whether it was allowed, why, and the resource as it stands. */
export type EntitlementCheck = Pick<
  CheckResponse,
  "allowed" | "reason" | "denialReason" | "entitlement"
>;

/**
 * The usage's dimension values (`{ model: "gpt-4" }`), each a dimension the resource's meter
 * declares, plus a unique_count meter's `unique_key` naming the member (`{ user_id: "u1" }`).
 * A dimension limit holds for usage carrying its values; the resource's limit for the total.
 */
export type Dimensions = Record<string, string>;

/** The seed's enforcer: entitlement checks and usage records for one Tollgate server. */
export interface EntitlementEnforcer {
  /** Checks and, only if allowed, records `quantity` (default 1) in one atomic step. */
  checkAndRecord(
    tenantId: string,
    resourceType: string,
    quantity?: Quantity,
    options?: { idempotencyKey?: string | undefined; dimensions?: Dimensions | undefined },
  ): Promise<EntitlementCheck>;
  /** Checks without recording ("check_only"). */
  checkOnly(
    tenantId: string,
    resourceType: string,
    quantity?: Quantity,
    options?: { dimensions?: Dimensions | undefined },
  ): Promise<EntitlementCheck>;
  /** Records usage that already happened, without a limit check ("record_usage_only"). */
  recordUsageOnly(
    tenantId: string,
    resourceType: string,
    quantity?: Quantity,
    options?: { idempotencyKey?: string | undefined; dimensions?: Dimensions | undefined },
  ): Promise<Entitlement | undefined>;
  /** Holds an estimate against the limit; commit the actual amount or release it later. */
  reserve(
    tenantId: string,
    resourceType: string,
    quantity: Quantity,
    options?: {
      ttlSeconds?: number | undefined;
      idempotencyKey?: string | undefined;
      dimensions?: Dimensions | undefined;
    },
  ): Promise<ReserveResponse>;
  /** Turns a reservation into usage of `actualQuantity` (default: the reserved amount). */
  commit(reservationId: string, actualQuantity?: Quantity): Promise<CommitReservationResponse>;
  /** Frees a reservation without recording usage. */
  release(reservationId: string): Promise<ReleaseReservationResponse>;
}

/** Creates an enforcer over a Tollgate client. */
export function createEntitlementEnforcer(
  client: Pick<TollgateClient, "entitlements">,
): EntitlementEnforcer {
  const api = client.entitlements;
  return {
    checkAndRecord: (tenantId, resourceType, quantity = 1, options = {}) =>
      api.checkAndRecord({
        tenantId,
        resourceType,
        quantity: toQuantityString(quantity),
        idempotencyKey: options.idempotencyKey ?? "",
        dimensions: options.dimensions ?? {},
      }),
    checkOnly: (tenantId, resourceType, quantity = 1, options = {}) =>
      api.check({
        tenantId,
        resourceType,
        quantity: toQuantityString(quantity),
        dimensions: options.dimensions ?? {},
      }),
    recordUsageOnly: async (tenantId, resourceType, quantity = 1, options = {}) =>
      (
        await api.recordUsage({
          tenantId,
          resourceType,
          quantity: toQuantityString(quantity),
          idempotencyKey: options.idempotencyKey ?? "",
          dimensions: options.dimensions ?? {},
        })
      ).entitlement,
    reserve: (tenantId, resourceType, quantity, options = {}) =>
      api.reserve({
        tenantId,
        resourceType,
        quantity: toQuantityString(quantity),
        ttlSeconds: options.ttlSeconds ?? 0,
        idempotencyKey: options.idempotencyKey ?? "",
        dimensions: options.dimensions ?? {},
      }),
    commit: (reservationId, actualQuantity) =>
      api.commitReservation({
        reservationId,
        actualQuantity: actualQuantity === undefined ? "" : toQuantityString(actualQuantity),
      }),
    release: (reservationId) => api.releaseReservation({ reservationId }),
  };
}

/**
 * The seed's `check_entitlement_or_raise`: throws {@link EntitlementEnforcementError} (resource,
 * limit, used, reason) when the check was not allowed, and returns it otherwise.
 */
export function checkEntitlementOrRaise<T extends EntitlementCheck>(check: T): T {
  if (check.allowed) return check;
  throw new EntitlementEnforcementError({
    resourceType: check.entitlement?.resourceType ?? "",
    limit: check.entitlement?.limit ?? "",
    used: check.entitlement?.used ?? "",
    reason: check.reason,
    denialReason: check.denialReason,
  });
}
