import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import {
  Granularity,
  type UsageEvent as UsageEventMessage,
  UsageService as UsageServiceDesc,
} from "../../gen/tollgate/v1/usage_service_pb.js";
import { handlersOf, type ServiceHandlers } from "../platform/server/module.js";
import { actorOf, budgetOf } from "../platform/server/request-context.js";
import { fromProtoTimestamp } from "../platform/server/timestamp.js";
import type { UsageService } from "./service.js";
import type { IngestSummary, RawUsageEvent } from "./usage.js";

const GRANULARITIES: Record<number, string> = {
  [Granularity.UNSPECIFIED]: "",
  [Granularity.HOUR]: "hour",
  [Granularity.DAY]: "day",
  [Granularity.MONTH]: "month",
};

/**
 * The Connect handler of `tollgate.v1.UsageService`: proto ↔ domain mapping and nothing else.
 * A stream's messages are mapped lazily, so the service pulls them only as fast as the
 * batcher has room, and HTTP/2 flow control pushes back on the client when it has none.
 */
export function createUsageRpc(service: UsageService): ServiceHandlers {
  return handlersOf(UsageServiceDesc, {
    async streamUsage(requests, ctx) {
      const batches = (async function* () {
        for await (const request of requests) yield request.events.map(fromProtoEvent);
      })();
      return toProtoSummary(await service.ingestStream(actorOf(ctx), batches));
    },
    async trackUsage(req, ctx) {
      return toProtoSummary(
        await service.track(actorOf(ctx), req.events.map(fromProtoEvent), budgetOf(ctx)),
      );
    },
    async getUsage(req, ctx) {
      const report = await service.getUsage(
        {
          tenantId: req.tenantId,
          resourceType: req.resourceType,
          start: fromProtoTimestamp(req.startTime),
          end: fromProtoTimestamp(req.endTime),
          granularity: GRANULARITIES[req.granularity] ?? `unknown(${req.granularity})`,
          groupBy: req.groupBy,
          filter: req.filter,
          timeZone: req.timeZone,
        },
        budgetOf(ctx),
      );
      return {
        totals: report.totals,
        series: report.series.map((b) => ({ ...b, startTime: timestampFromDate(b.startTime) })),
      };
    },
    getIngestStats() {
      const stats = service.stats();
      return {
        trackedCount: BigInt(stats.tracked),
        flushedCount: BigInt(stats.flushed),
        duplicateCount: BigInt(stats.duplicates),
        rejectedCount: BigInt(stats.rejected),
        errorCount: BigInt(stats.errors),
        batchCount: BigInt(stats.batches),
        bufferSize: BigInt(stats.bufferSize),
        lastFlushTime: stats.lastFlushTime && timestampFromDate(stats.lastFlushTime),
        recentEventsPerSecond: stats.recentPerSecond,
      };
    },
  });
}

/** A wire event as ingestion takes it. */
export function fromProtoEvent(event: UsageEventMessage): RawUsageEvent {
  return {
    eventId: event.eventId,
    tenantId: event.tenantId,
    resourceType: event.resourceType,
    quantity: event.quantity,
    occurTime: fromProtoTimestamp(event.occurTime),
    attributes: event.attributes,
  };
}

function toProtoSummary(summary: IngestSummary) {
  return {
    acceptedCount: BigInt(summary.acceptedCount),
    duplicateCount: BigInt(summary.duplicateCount),
    rejectedCount: BigInt(summary.rejectedCount),
    rejectedEvents: summary.rejectedEvents,
  };
}
