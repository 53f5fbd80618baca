import { create } from "@bufbuild/protobuf";
import { durationFromMs, timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Decimal } from "decimal.js";
import {
  type Entitlement as EntitlementMessage,
  EntitlementSchema,
  EntitlementService as EntitlementServiceDesc,
  LimitSource,
  Aggregation as ProtoAggregation,
  DenialReason as ProtoDenialReason,
  ReservationState as ProtoReservationState,
  type Reservation as ReservationMessage,
  ReservationSchema,
} from "../../gen/tollgate/v1/entitlement_service_pb.js";
import { ResourceKind } from "../../gen/tollgate/v1/resource_pb.js";
import { toProtoPricing } from "../billing/pricing-wire.js";
import { windowText } from "../catalog/catalog.js";
import type { Aggregation } from "../catalog/meters.js";
import { overageOf } from "../catalog/overage.js";
import { nextUnitAmount, pricedQuantity } from "../catalog/pricing.js";
import { handlersOf, type ServiceHandlers } from "../platform/server/module.js";
import { actorOf, budgetOf } from "../platform/server/request-context.js";
import type {
  CheckResult,
  DenialReason,
  Entitlement,
  Reservation,
  ReservationState,
} from "./entitlements.js";
import type { EntitlementService } from "./service.js";

const DENIAL_TO_PROTO: Record<DenialReason, ProtoDenialReason> = {
  limit_exceeded: ProtoDenialReason.LIMIT_EXCEEDED,
  overage_cap_reached: ProtoDenialReason.OVERAGE_CAP_REACHED,
  resource_not_in_plan: ProtoDenialReason.RESOURCE_NOT_IN_PLAN,
};

const AGGREGATION_TO_PROTO: Record<Aggregation, ProtoAggregation> = {
  sum: ProtoAggregation.SUM,
  count: ProtoAggregation.COUNT,
  unique_count: ProtoAggregation.UNIQUE_COUNT,
  max: ProtoAggregation.MAX,
  latest: ProtoAggregation.LATEST,
};

const RESERVATION_STATE_TO_PROTO: Record<ReservationState, ProtoReservationState> = {
  held: ProtoReservationState.HELD,
  committed: ProtoReservationState.COMMITTED,
  released: ProtoReservationState.RELEASED,
  expired: ProtoReservationState.EXPIRED,
};

/**
 * The handlers of `tollgate.v1.EntitlementService` for checks, usage and reservations: proto ↔
 * domain mapping and nothing else (grants and overrides are the credits domain's). Decimals leave as plain strings (never exponent notation).
 */
export function createEntitlementRpc(service: EntitlementService): ServiceHandlers {
  return handlersOf(EntitlementServiceDesc, {
    async check(req, ctx) {
      return toProtoCheck(await service.check(actorOf(ctx), req));
    },
    async checkAndRecord(req, ctx) {
      return toProtoCheck(await service.checkAndRecord(actorOf(ctx), req, budgetOf(ctx)));
    },
    async recordUsage(req, ctx) {
      return {
        entitlement: toProtoEntitlement(
          await service.recordUsage(actorOf(ctx), req, budgetOf(ctx)),
        ),
      };
    },
    async getEntitlements(req, ctx) {
      const { planId, entitlements } = await service.getEntitlements(actorOf(ctx), req.tenantId);
      return { planId, entitlements: entitlements.map(toProtoEntitlement) };
    },
    async reserve(req, ctx) {
      const result = await service.reserve(actorOf(ctx), req, budgetOf(ctx));
      return {
        ...toProtoCheck(result),
        reservationId: result.reservation?.id ?? "",
        expireTime: result.reservation && timestampFromDate(result.reservation.expireTime),
      };
    },
    async commitReservation(req, ctx) {
      const result = await service.commitReservation(actorOf(ctx), req, budgetOf(ctx));
      return {
        reservation: toProtoReservation(result.reservation),
        entitlement: toProtoEntitlement(result.entitlement),
      };
    },
    async releaseReservation(req, ctx) {
      const result = await service.releaseReservation(actorOf(ctx), req, budgetOf(ctx));
      return {
        reservation: toProtoReservation(result.reservation),
        entitlement: toProtoEntitlement(result.entitlement),
      };
    },
  });
}

function toProtoCheck(result: CheckResult) {
  const timing = result.window;
  return {
    allowed: result.allowed,
    reason: result.reason,
    denialReason: result.denialReason
      ? DENIAL_TO_PROTO[result.denialReason]
      : ProtoDenialReason.UNSPECIFIED,
    entitlement: toProtoEntitlement(result.entitlement),
    decisionTime: timing && timestampFromDate(timing.decisionTime),
    resetTime: timing?.resetTime && timestampFromDate(timing.resetTime),
    retryAfter:
      timing?.retryTime &&
      durationFromMs(Math.max(0, timing.retryTime.getTime() - timing.decisionTime.getTime())),
  };
}

function toProtoEntitlement(entitlement: Entitlement): EntitlementMessage {
  const { limit, included, pricing, used, reserved } = entitlement;
  const overage = overageOf(entitlement);
  const next =
    pricing && included !== undefined
      ? nextUnitAmount(pricing, pricedQuantity(pricing, included, used))
      : undefined;
  return create(EntitlementSchema, {
    resourceType: entitlement.resourceType,
    kind: entitlement.kind === "consumable" ? ResourceKind.CONSUMABLE : ResourceKind.ALLOCATION,
    limit: limit?.toFixed() ?? "",
    unlimited: included === undefined,
    included: included?.toFixed() ?? "",
    overage: overage.units.toFixed(),
    overageAmount: overage.amount.toFixed(),
    hard: included !== undefined && pricing === undefined,
    overageUnitAmount: next?.toFixed() ?? "",
    pricing: pricing && toProtoPricing(pricing),
    priceOverrideId: entitlement.priceOverrideId ?? "",
    currency: entitlement.currency,
    used: used.toFixed(),
    remaining: limit ? Decimal.max(0, limit.minus(used).minus(reserved)).toFixed() : "",
    periodStartTime: timestampFromDate(entitlement.periodStart),
    periodEndTime: timestampFromDate(entitlement.periodEnd),
    planId: entitlement.planId,
    reserved: reserved.toFixed(),
    granted: entitlement.granted.toFixed(),
    grantRemaining: entitlement.grantRemaining.toFixed(),
    limitSource: entitlement.limitSource === "override" ? LimitSource.OVERRIDE : LimitSource.PLAN,
    dimensions: entitlement.dimensions,
    aggregation: AGGREGATION_TO_PROTO[entitlement.aggregation],
    window: entitlement.window === undefined ? "" : windowText(entitlement.window),
  });
}

function toProtoReservation(reservation: Reservation): ReservationMessage {
  return create(ReservationSchema, {
    id: reservation.id,
    tenantId: reservation.tenantId,
    resourceType: reservation.resourceType,
    quantity: reservation.quantity.toFixed(),
    state: RESERVATION_STATE_TO_PROTO[reservation.state],
    expireTime: timestampFromDate(reservation.expireTime),
    committedQuantity: reservation.committedQuantity?.toFixed() ?? "",
    createTime: timestampFromDate(reservation.createTime),
  });
}
