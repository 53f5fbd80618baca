import { randomBytes } from "node:crypto";
import { checkEventTypes } from "../events/service.js";
import { NotFoundError } from "../platform/errors/domain-error.js";
import { fetchPage, MAX_PAGE_SIZE, type Page } from "../platform/pagination/page-token.js";
import { createFieldChecks, type FieldChecks } from "../platform/validation/field-checks.js";
import { FIELD_RULES } from "../platform/validation/field-rules.js";
import { type DestinationPolicy, destinationProblem } from "./address-guard.js";
import type { WebhookStore } from "./store.js";
import type { Delivery, WebhookEndpoint } from "./webhooks.js";

/** Managing webhook endpoints and their deliveries. Admin only. */
export interface WebhookService {
  create(raw: {
    url: string;
    types: readonly string[];
    description: string;
  }): Promise<{ endpoint: WebhookEndpoint; secret: string }>;
  list(): Promise<WebhookEndpoint[]>;
  update(raw: {
    endpointId: string;
    url: string;
    types: readonly string[];
    description: string;
    enabled: boolean;
    paths: readonly string[];
  }): Promise<WebhookEndpoint>;
  delete(endpointId: string): Promise<void>;
  rotateSecret(
    endpointId: string,
    previousSecretTtlSeconds: number,
  ): Promise<{ endpoint: WebhookEndpoint; secret: string }>;
  listDeliveries(endpointId: string, pageSize: number, pageToken: string): Promise<Page<Delivery>>;
  retryDelivery(deliveryId: string): Promise<Delivery>;
}

const URL_MAX = 2048;
const ENDPOINT_ID = /^we_[0-9a-f]{24}$/;
const DELIVERY_ID = /^whd_[0-9a-f]{32}$/;
const UPDATABLE = ["url", "types", "description", "enabled"];
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

  const checkUrl = async (checks: FieldChecks, url: string) => {
    if (!checks.text("url", url, { max: URL_MAX, required: true })) return;
    const problem = await destinationProblem(url, policy);
    checks.check(problem === undefined, "url", problem ?? "");
  };
  const checkEndpointId = (checks: FieldChecks, id: string) =>
    checks.check(ENDPOINT_ID.test(id), "endpoint_id", "must be an endpoint id such as we_…");
  const found = <T>(value: T | undefined, what: string): T => {
    if (value === undefined) throw new NotFoundError(`${what} not found`);
    return value;
  };

  return {
    async create(raw) {
      const checks = createFieldChecks();
      await checkUrl(checks, raw.url);
      checkEventTypes(checks, "types", raw.types);
      checks.text("description", raw.description, { max: FIELD_RULES.descriptionMax });
      checks.throwIfAny();
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
      const checks = createFieldChecks();
      checkEndpointId(checks, raw.endpointId);
      checks.check(raw.paths.length > 0, "update_mask", "must name at least one field");
      for (const [i, path] of raw.paths.entries()) {
        checks.check(
          UPDATABLE.includes(path),
          `update_mask.paths[${i}]`,
          `must be one of ${UPDATABLE.join(", ")}`,
        );
      }
      const paths = new Set(raw.paths);
      if (paths.has("url")) await checkUrl(checks, raw.url);
      if (paths.has("types")) checkEventTypes(checks, "types", raw.types);
      if (paths.has("description")) {
        checks.text("description", raw.description, { max: FIELD_RULES.descriptionMax });
      }
      checks.throwIfAny();
      const updated = await store.updateEndpoint(raw.endpointId, {
        url: paths.has("url") ? raw.url : undefined,
        types: paths.has("types") ? [...new Set(raw.types)].sort() : undefined,
        description: paths.has("description") ? raw.description : undefined,
        enabled: paths.has("enabled") ? raw.enabled : undefined,
      });
      return found(updated, `webhook endpoint ${raw.endpointId}`);
    },

    async delete(endpointId) {
      const checks = createFieldChecks();
      checkEndpointId(checks, endpointId);
      checks.throwIfAny();
      if (!(await store.deleteEndpoint(endpointId))) {
        throw new NotFoundError(`webhook endpoint ${endpointId} not found`);
      }
    },

    async rotateSecret(endpointId, ttlSeconds) {
      const checks = createFieldChecks();
      checkEndpointId(checks, endpointId);
      checks.intRange("previous_secret_ttl_seconds", ttlSeconds, 0, 604_800);
      checks.throwIfAny();
      const secret = newSecret();
      const until = new Date(
        Date.now() + (ttlSeconds || DEFAULT_PREVIOUS_SECRET_TTL_SECONDS) * 1000,
      );
      const endpoint = await store.rotateSecret(endpointId, secret, until);
      return { endpoint: found(endpoint, `webhook endpoint ${endpointId}`), secret };
    },

    async listDeliveries(endpointId, pageSize, pageToken) {
      const checks = createFieldChecks();
      checkEndpointId(checks, endpointId);
      checks.intRange("page_size", pageSize, 0, MAX_PAGE_SIZE);
      checks.throwIfAny();
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
      const checks = createFieldChecks();
      checks.check(
        DELIVERY_ID.test(deliveryId),
        "delivery_id",
        "must be a delivery id such as whd_…",
      );
      checks.throwIfAny();
      return found(await store.retryDelivery(deliveryId), `delivery ${deliveryId}`);
    },
  };
}
