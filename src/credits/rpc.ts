import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import {
  EntitlementService as EntitlementServiceDesc,
  GrantSchema,
  OverrideSchema,
  GrantState as ProtoGrantState,
} from "../../gen/tollgate/v1/entitlement_service_pb.js";
import { parseCounterName } from "../catalog/meters.js";
import type { Clock } from "../platform/clock/clock.js";
import { handlersOf, type ServiceHandlers } from "../platform/server/module.js";
import { actorOf } from "../platform/server/request-context.js";
import { fromProtoTimestamp } from "../platform/server/timestamp.js";
import { type Grant, type GrantState, grantState, type Override } from "./credits.js";
import type { CreditService } from "./service.js";

const GRANT_STATE_TO_PROTO: Record<GrantState, ProtoGrantState> = {
  active: ProtoGrantState.ACTIVE,
  expired: ProtoGrantState.EXPIRED,
  voided: ProtoGrantState.VOIDED,
  used_up: ProtoGrantState.USED_UP,
};

/**
 * The handlers of grants and overrides, which the proto puts in
 * `tollgate.v1.EntitlementService`: proto ↔ domain mapping and nothing else. A grant's state
 * is read at the clock's now, so a test clock moves it.
 */
export function createCreditRpc(credits: CreditService, clock: Clock): ServiceHandlers {
  const toProtoGrant = (grant: Grant) =>
    create(GrantSchema, {
      id: grant.id,
      tenantId: grant.tenantId,
      ...parseCounterName(grant.resourceType),
      quantity: grant.quantity.toFixed(),
      remaining: grant.remaining.toFixed(),
      expireTime: grant.expireTime && timestampFromDate(grant.expireTime),
      createTime: timestampFromDate(grant.createTime),
      reason: grant.reason,
      voidTime: grant.voidTime && timestampFromDate(grant.voidTime),
      state: GRANT_STATE_TO_PROTO[grantState(grant, clock.now())],
    });
  return handlersOf(EntitlementServiceDesc, {
    async grantCredits(req, ctx) {
      const grant = await credits.grantCredits(actorOf(ctx), {
        ...req,
        expireTime: fromProtoTimestamp(req.expireTime),
      });
      return { grant: toProtoGrant(grant) };
    },
    async listGrants(req) {
      const grants = await credits.listGrants(req.tenantId, req.includeExpired);
      return { grants: grants.map(toProtoGrant) };
    },
    async voidGrant(req, ctx) {
      return { grant: toProtoGrant(await credits.voidGrant(actorOf(ctx), req)) };
    },
    async setEntitlementOverride(req, ctx) {
      const override = await credits.setOverride(actorOf(ctx), {
        ...req,
        expireTime: fromProtoTimestamp(req.expireTime),
      });
      return { override: toProtoOverride(override) };
    },
    async listEntitlementOverrides(req) {
      const overrides = await credits.listOverrides(req.tenantId, req.includeExpired);
      return { overrides: overrides.map(toProtoOverride) };
    },
    async deleteEntitlementOverride(req, ctx) {
      return { override: toProtoOverride(await credits.deleteOverride(actorOf(ctx), req)) };
    },
  });
}

function toProtoOverride(override: Override) {
  return create(OverrideSchema, {
    tenantId: override.tenantId,
    ...parseCounterName(override.resourceType),
    limit: override.limit?.toFixed() ?? "",
    unlimited: override.limit === undefined,
    expireTime: override.expireTime && timestampFromDate(override.expireTime),
    createTime: timestampFromDate(override.createTime),
    updateTime: timestampFromDate(override.updateTime),
  });
}
