import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import {
  DeliverySchema,
  DeliveryState,
  EventService as EventServiceDesc,
  WebhookEndpointSchema,
} from "../../gen/tollgate/v1/event_service_pb.js";
import { handlersOf, type ServiceHandlers } from "../platform/server/module.js";
import type { WebhookService } from "./service.js";
import type { Delivery, WebhookEndpoint } from "./webhooks.js";

const DELIVERY_STATE_TO_PROTO = {
  pending: DeliveryState.PENDING,
  succeeded: DeliveryState.SUCCEEDED,
  failed: DeliveryState.FAILED,
} as const;

/**
 * The handlers of webhook endpoints and deliveries, which the proto puts in
 * `tollgate.v1.EventService`: proto ↔ domain mapping and nothing else.
 */
export function createWebhookRpc(webhooks: WebhookService): ServiceHandlers {
  return handlersOf(EventServiceDesc, {
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
