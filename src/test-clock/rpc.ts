import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { BillingService as BillingServiceDesc } from "../../gen/tollgate/v1/billing_service_pb.js";
import { handlersOf, type ServiceHandlers } from "../platform/server/module.js";
import { actorOf } from "../platform/server/request-context.js";
import { fromProtoTimestamp } from "../platform/server/timestamp.js";
import type { TestClockService } from "./service.js";

/**
 * The handlers of the test clock, which the proto puts in `tollgate.v1.BillingService`:
 * proto ↔ domain mapping and nothing else.
 */
export function createTestClockRpc(service: TestClockService): ServiceHandlers {
  return handlersOf(BillingServiceDesc, {
    async getTestClock() {
      return { time: timestampFromDate(await service.now()) };
    },
    async advanceTestClock(req, ctx) {
      const time = await service.advance(actorOf(ctx), fromProtoTimestamp(req.toTime));
      return { time: timestampFromDate(time) };
    },
  });
}
