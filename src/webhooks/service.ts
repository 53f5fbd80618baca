import { randomBytes } from "node:crypto";
import { NotFoundError } from "../platform/errors/domain-error.js";
import { fetchPage, type Page } from "../platform/pagination/page-token.js";
import type { DestinationPolicy } from "./address-guard.js";
import {
  type RawEndpoint,
  type RawEndpointUpdate,
  validateDeliveryId,
  validateDeliveryPage,
  validateEndpoint,
  validateEndpointId,
  validateEndpointUpdate,
  validateRotation,
} from "./inputs.js";
import type { WebhookStore } from "./store.js";
import type { Delivery, WebhookEndpoint } from "./webhooks.js";

/** Managing webhook endpoints and their deliveries. Admin only. */
export interface WebhookService {
  create(raw: RawEndpoint): Promise<{ endpoint: WebhookEndpoint; secret: string }>;
  list(): Promise<WebhookEndpoint[]>;
  update(raw: RawEndpointUpdate): Promise<WebhookEndpoint>;
  delete(endpointId: string): Promise<void>;
  rotateSecret(
    endpointId: string,
    previousSecretTtlSeconds: number,
  ): Promise<{ endpoint: WebhookEndpoint; secret: string }>;
  listDeliveries(endpointId: string, pageSize: number, pageToken: string): Promise<Page<Delivery>>;
  retryDelivery(deliveryId: string): Promise<Delivery>;
}

const DEFAULT_PREVIOUS_SECRET_TTL_SECONDS = 86_400;

/** A new signing secret in the Standard Webhooks form: `whsec_` and 24 random bytes, base64. */
function newSecret(): string {
  return `whsec_${randomBytes(24).toString("base64")}`;
}

/** Creates the endpoint manager; URLs are checked against `policy` when saved. */
export function createWebhookService(deps: {
  store: WebhookStore;
  policy: DestinationPolicy;
}): WebhookService {
  const { store, policy } = deps;

  const found = <T>(value: T | undefined, what: string): T => {
    if (value === undefined) throw new NotFoundError(`${what} not found`);
    return value;
  };

  return {
    async create(raw) {
      await validateEndpoint(raw, policy);
      const now = new Date();
      const secret = newSecret();
      const endpoint: WebhookEndpoint = {
        id: `we_${randomBytes(12).toString("hex")}`,
        url: raw.url,
        types: [...new Set(raw.types)].sort(),
        description: raw.description,
        enabled: true,
        disabledReason: "",
        createTime: now,
        updateTime: now,
      };
      await store.insertEndpoint({ ...endpoint, secret });
      return { endpoint, secret };
    },

    list: () => store.listEndpoints(),

    async update(raw) {
      const paths = await validateEndpointUpdate(raw, policy);
      const updated = await store.updateEndpoint(raw.endpointId, {
        url: paths.has("url") ? raw.url : undefined,
        types: paths.has("types") ? [...new Set(raw.types)].sort() : undefined,
        description: paths.has("description") ? raw.description : undefined,
        enabled: paths.has("enabled") ? raw.enabled : undefined,
      });
      return found(updated, `webhook endpoint ${raw.endpointId}`);
    },

    async delete(endpointId) {
      validateEndpointId(endpointId);
      if (!(await store.deleteEndpoint(endpointId))) {
        throw new NotFoundError(`webhook endpoint ${endpointId} not found`);
      }
    },

    async rotateSecret(endpointId, ttlSeconds) {
      validateRotation(endpointId, ttlSeconds);
      const secret = newSecret();
      const until = new Date(
        Date.now() + (ttlSeconds || DEFAULT_PREVIOUS_SECRET_TTL_SECONDS) * 1000,
      );
      const endpoint = await store.rotateSecret(endpointId, secret, until);
      return { endpoint: found(endpoint, `webhook endpoint ${endpointId}`), secret };
    },

    async listDeliveries(endpointId, pageSize, pageToken) {
      validateDeliveryPage(endpointId, pageSize);
      found(await store.findEndpoint(endpointId), `webhook endpoint ${endpointId}`);
      return fetchPage({
        scope: `deliveries/${endpointId}`,
        pageSize,
        pageToken,
        fetch: (limit, after) => store.listDeliveries(endpointId, limit, after),
        cursorOf: (d) => ({ time: d.createTime, id: d.id }),
      });
    },

    async retryDelivery(deliveryId) {
      validateDeliveryId(deliveryId);
      return found(await store.retryDelivery(deliveryId), `delivery ${deliveryId}`);
    },
  };
}
