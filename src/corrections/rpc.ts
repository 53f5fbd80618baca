import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { UsageService as UsageServiceDesc } from "../../gen/tollgate/v1/usage_service_pb.js";
import { handlersOf, type ServiceHandlers } from "../platform/server/module.js";
import { actorOf } from "../platform/server/request-context.js";
import { fromProtoTimestamp } from "../platform/server/timestamp.js";
import { fromProtoEvent } from "../usage/rpc.js";
import type { CorrectionService } from "./service.js";

/**
 * The corrections' share of `tollgate.v1.UsageService` (VoidUsage, ReplaceUsage,
 * ListUsageEvents): proto ↔ domain mapping and nothing else.
 */
export function createCorrectionRpc(service: CorrectionService): ServiceHandlers {
  return handlersOf(UsageServiceDesc, {
    async voidUsage(req, ctx) {
      const result = await service.voidUsage(actorOf(ctx), {
        tenantId: req.tenantId,
        eventIds: req.eventIds,
        idempotencyKeys: req.idempotencyKeys,
        reason: req.reason,
        requestId: req.requestId,
      });
      return {
        voidedCount: BigInt(result.voidedCount),
        alreadyVoidedCount: BigInt(result.alreadyVoidedCount),
        notFound: result.notFound,
      };
    },
    async replaceUsage(req, ctx) {
      const result = await service.replaceUsage(actorOf(ctx), {
        tenantId: req.tenantId,
        resourceType: req.resourceType,
        start: fromProtoTimestamp(req.startTime),
        end: fromProtoTimestamp(req.endTime),
        events: req.events.map(fromProtoEvent),
        reason: req.reason,
        requestId: req.requestId,
      });
      return {
        voidedCount: BigInt(result.voidedCount),
        acceptedCount: BigInt(result.acceptedCount),
      };
    },
    async listUsageEvents(req) {
      const page = await service.listEvents({
        tenantId: req.tenantId,
        resourceType: req.resourceType,
        start: fromProtoTimestamp(req.startTime),
        end: fromProtoTimestamp(req.endTime),
        includeVoided: req.includeVoided,
        pageSize: req.pageSize,
        pageToken: req.pageToken,
        filter: req.filter,
      });
      return {
        events: page.items.map((e) => ({
          event: {
            eventId: e.eventId,
            tenantId: e.tenantId,
            resourceType: e.resourceType,
            quantity: e.quantity,
            occurTime: timestampFromDate(e.occurTime),
            attributes: e.attributes,
          },
          periodStartTime: timestampFromDate(e.periodStart),
          voided: e.void !== undefined,
          voidReason: e.void?.reason ?? "",
          voidTime: e.void && timestampFromDate(e.void.time),
          voidedBy: e.void?.by ?? "",
        })),
        nextPageToken: page.nextPageToken,
      };
    },
  });
}
