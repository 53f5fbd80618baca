import {
  createFieldChecks,
  type FieldChecks,
  type StringMapBounds,
  type TimeBounds,
} from "./field-checks.js";

/**
 * The rules every RPC applies to its string and time fields, in one place so that nothing
 * Tollgate accepts is later refused by PostgreSQL or by Stripe. The proto comments quote them.
 *
 * - Identifiers (`request_id`, `idempotency_key`, customer, price and subscription ids):
 *   at most 255 characters of well-formed Unicode without control characters. Any such
 *   `request_id` fits Stripe's idempotency key, because the provider hashes what would not.
 * - Event ids: the same, 1 to 128 characters.
 * - Free text (names, emails, descriptions, attribute and metadata values): well-formed
 *   Unicode without NUL or control characters other than tab and line breaks.
 * - Customer metadata: at most 49 keys (Stripe allows 50 and Tollgate adds `tenant_id`), keys
 *   of 1 to 40 characters without `[` or `]`, values of at most 500 characters.
 * - Usage attributes: at most 32 entries, keys of 1 to 64 and values of at most 512 characters.
 * - Event times: from 2000-01-01T00:00:00Z to 5 minutes past the server's clock; every wire
 *   timestamp must be valid (years 1 to 9999, nanos from 0 to 999,999,999).
 */
export const FIELD_RULES = {
  idMax: 255,
  eventIdMax: 128,
  emailMax: 254,
  nameMax: 256,
  descriptionMax: 256,
  metadata: {
    maxEntries: 49,
    maxKey: 40,
    maxValue: 500,
    forbiddenKeyCharacters: "[]",
    reservedKeys: ["tenant_id"],
  } satisfies StringMapBounds,
  attributes: { maxEntries: 32, maxKey: 64, maxValue: 512 } satisfies StringMapBounds,
  /** Usage older than this is not billable by any period Tollgate keeps. */
  earliestEventTime: new Date("2000-01-01T00:00:00Z"),
  /** How far a client's clock may run ahead of the server's. */
  futureSkewMs: 5 * 60_000,
} as const;

/** The range of `google.protobuf.Timestamp` (years 1 to 9999), for times used only in queries. */
export const WIRE_TIME: TimeBounds = {
  min: new Date("0001-01-01T00:00:00Z"),
  max: new Date("9999-12-31T23:59:59.999Z"),
  describe: "must be within years 1 to 9999",
};

/** The window an event's `occur_time` must fall in, relative to the server's `now`. */
export function eventTimeBounds(now: Date): TimeBounds {
  return {
    min: FIELD_RULES.earliestEventTime,
    max: new Date(now.getTime() + FIELD_RULES.futureSkewMs),
    describe: "must be from 2000-01-01T00:00:00Z to 5 minutes in the future",
  };
}

/** An optional caller-chosen idempotency key: `request_id` or `idempotency_key`. */
export function checkRequestId(checks: FieldChecks, field: string, value: string): boolean {
  return checks.identifier(field, value, { max: FIELD_RULES.idMax });
}

/** A required id of a provider object or a catalog price. */
export function checkObjectId(checks: FieldChecks, field: string, value: string): boolean {
  return checks.identifier(field, value, { max: FIELD_RULES.idMax, required: true });
}

/** Validates a lone tenant id argument and returns it in canonical lower case. */
export function validateTenantId(tenantId: string): string {
  const checks = createFieldChecks();
  checks.uuid("tenant_id", tenantId);
  checks.throwIfAny();
  return tenantId.toLowerCase();
}
