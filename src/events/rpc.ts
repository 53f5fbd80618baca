import { create, type JsonObject } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import {
  EventSchema,
  EventService as EventServiceDesc,
} from "../../gen/tollgate/v1/event_service_pb.js";
import { assertTenantAccess } from "../auth/policy.js";
import { handlersOf, type ServiceHandlers } from "../platform/server/module.js";
import { actorOf } from "../platform/server/request-context.js";
import type { TollgateEvent } from "./events.js";
import type { EventService } from "./service.js";

/**
 * The handlers of `tollgate.v1.EventService` that read the event log: proto ↔ domain mapping
 * and nothing else (webhook endpoints and deliveries are the webhooks domain's).
 */
export function createEventRpc(events: EventService): ServiceHandlers {
  return handlersOf(EventServiceDesc, {
    async listEvents(req) {
      const page = await events.list(req);
      return { events: page.items.map(toProtoEvent), nextPageToken: page.nextPageToken };
    },
    async *streamEvents(req, ctx) {
      const actor = actorOf(ctx);
      // The interceptor sees no message on streams, so the tenant is checked here.
      assertTenantAccess(actor, req.tenantId);
      for await (const event of events.stream(actor, req, ctx.signal)) {
        yield { event: toProtoEvent(event) };
      }
    },
  });
}

function toProtoEvent(event: TollgateEvent) {
  return create(EventSchema, {
    id: event.id,
    type: event.type,
    tenantId: event.tenantId ?? "",
    createTime: timestampFromDate(event.createTime),
    data: event.data as JsonObject,
  });
}
