import { create, type JsonObject } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { ServiceImpl } from "@connectrpc/connect";
import {
  DeliverySchema,
  DeliveryState,
  EventSchema,
  type EventService as EventServiceDesc,
  WebhookEndpointSchema,
} from "../../gen/tollgate/v1/event_service_pb.js";
import { assertTenantAccess } from "../auth/policy.js";
import { actorOf } from "../platform/server/request-context.js";
import type { WebhookService } from "../webhooks/service.js";
import type { Delivery, WebhookEndpoint } from "../webhooks/webhooks.js";
import type { TollgateEvent } from "./events.js";
import type { EventService } from "./service.js";

const DELIVERY_STATE_TO_PROTO = {
  pending: DeliveryState.PENDING,
  succeeded: DeliveryState.SUCCEEDED,
  failed: DeliveryState.FAILED,
} as const;

/** The Connect handler of `tollgate.v1.EventService`: proto ↔ domain mapping and nothing else. */
export function createEventRpc(
  events: EventService,
  webhooks: WebhookService,
): ServiceImpl<typeof EventServiceDesc> {
  return {
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
    async createWebhookEndpoint(req) {
      const { endpoint, secret } = await webhooks.create(req);
      return { endpoint: toProtoEndpoint(endpoint), secret };
    },
    async listWebhookEndpoints() {
      return { endpoints: (await webhooks.list()).map(toProtoEndpoint) };
    },
    async updateWebhookEndpoint(req) {
      const endpoint = await webhooks.update({ ...req, paths: req.updateMask?.paths ?? [] });
      return { endpoint: toProtoEndpoint(endpoint) };
    },
    async deleteWebhookEndpoint(req) {
      await webhooks.delete(req.endpointId);
      return {};
    },
    async rotateWebhookSecret(req) {
      const { endpoint, secret } = await webhooks.rotateSecret(
        req.endpointId,
        req.previousSecretTtlSeconds,
      );
      return { endpoint: toProtoEndpoint(endpoint), secret };
    },
    async listDeliveries(req) {
      const page = await webhooks.listDeliveries(req.endpointId, req.pageSize, req.pageToken);
      return { deliveries: page.items.map(toProtoDelivery), nextPageToken: page.nextPageToken };
    },
    async retryDelivery(req) {
      return { delivery: toProtoDelivery(await webhooks.retryDelivery(req.deliveryId)) };
    },
  };
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

function toProtoEndpoint(endpoint: WebhookEndpoint) {
  return create(WebhookEndpointSchema, {
    ...endpoint,
    createTime: timestampFromDate(endpoint.createTime),
    updateTime: timestampFromDate(endpoint.updateTime),
  });
}

function toProtoDelivery(delivery: Delivery) {
  return create(DeliverySchema, {
    id: delivery.id,
    endpointId: delivery.endpointId,
    eventId: delivery.eventId,
    eventType: delivery.eventType,
    state: DELIVERY_STATE_TO_PROTO[delivery.state],
    attemptCount: delivery.attemptCount,
    nextAttemptTime: delivery.nextAttemptTime && timestampFromDate(delivery.nextAttemptTime),
    lastStatusCode: delivery.lastStatusCode ?? 0,
    lastError: delivery.lastError,
    createTime: timestampFromDate(delivery.createTime),
    attempts: delivery.attempts.map((a) => ({
      attempt: a.attempt,
      statusCode: a.statusCode ?? 0,
      error: a.error,
      durationMs: a.durationMs,
      createTime: timestampFromDate(a.createTime),
    })),
  });
}
