import { checkEventTypes } from "../events/inputs.js";
import { MAX_PAGE_SIZE } from "../platform/pagination/page-token.js";
import { createFieldChecks, type FieldChecks } from "../platform/validation/field-checks.js";
import { FIELD_RULES } from "../platform/validation/field-rules.js";
import { type DestinationPolicy, destinationProblem } from "./address-guard.js";

/** CreateWebhookEndpoint as it arrives. */
export interface RawEndpoint {
  url: string;
  types: readonly string[];
  description: string;
}

/** UpdateWebhookEndpoint as it arrives: only the fields `paths` (the update mask) names change. */
export interface RawEndpointUpdate extends RawEndpoint {
  endpointId: string;
  enabled: boolean;
  paths: readonly string[];
}

const URL_MAX = 2048;
const ENDPOINT_ID = /^we_[0-9a-f]{24}$/;
const DELIVERY_ID = /^whd_[0-9a-f]{32}$/;
const UPDATABLE = ["url", "types", "description", "enabled"];
/** The longest a rotated-out secret may stay valid: a week. */
const MAX_PREVIOUS_SECRET_TTL_SECONDS = 604_800;

/**
 * A new endpoint: its URL (checked against the destination policy, which resolves the host),
 * its event types and its description.
 */
export async function validateEndpoint(raw: RawEndpoint, policy: DestinationPolicy): Promise<void> {
  const checks = createFieldChecks();
  await checkUrl(checks, raw.url, policy);
  checkEventTypes(checks, "types", raw.types);
  checks.text("description", raw.description, { max: FIELD_RULES.descriptionMax });
  checks.throwIfAny();
}

/** An update: the endpoint id, the mask, and each field the mask names; returns the mask. */
export async function validateEndpointUpdate(
  raw: RawEndpointUpdate,
  policy: DestinationPolicy,
): Promise<ReadonlySet<string>> {
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
  if (paths.has("url")) await checkUrl(checks, raw.url, policy);
  if (paths.has("types")) checkEventTypes(checks, "types", raw.types);
  if (paths.has("description")) {
    checks.text("description", raw.description, { max: FIELD_RULES.descriptionMax });
  }
  checks.throwIfAny();
  return paths;
}

/** An endpoint id on its own (DeleteWebhookEndpoint). */
export function validateEndpointId(endpointId: string): void {
  const checks = createFieldChecks();
  checkEndpointId(checks, endpointId);
  checks.throwIfAny();
}

/** RotateWebhookSecret: the endpoint, and how long the old secret stays valid. */
export function validateRotation(endpointId: string, ttlSeconds: number): void {
  const checks = createFieldChecks();
  checkEndpointId(checks, endpointId);
  checks.intRange("previous_secret_ttl_seconds", ttlSeconds, 0, MAX_PREVIOUS_SECRET_TTL_SECONDS);
  checks.throwIfAny();
}

/** ListDeliveries: the endpoint and the page size. */
export function validateDeliveryPage(endpointId: string, pageSize: number): void {
  const checks = createFieldChecks();
  checkEndpointId(checks, endpointId);
  checks.intRange("page_size", pageSize, 0, MAX_PAGE_SIZE);
  checks.throwIfAny();
}

/** RetryDelivery's delivery id. */
export function validateDeliveryId(deliveryId: string): void {
  const checks = createFieldChecks();
  checks.check(DELIVERY_ID.test(deliveryId), "delivery_id", "must be a delivery id such as whd_…");
  checks.throwIfAny();
}

async function checkUrl(checks: FieldChecks, url: string, policy: DestinationPolicy) {
  if (!checks.text("url", url, { max: URL_MAX, required: true })) return;
  const problem = await destinationProblem(url, policy);
  checks.check(problem === undefined, "url", problem ?? "");
}

function checkEndpointId(checks: FieldChecks, id: string): boolean {
  return checks.check(ENDPOINT_ID.test(id), "endpoint_id", "must be an endpoint id such as we_…");
}
