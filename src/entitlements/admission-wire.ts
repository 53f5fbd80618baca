import type { Decimal } from "decimal.js";
import type { ReservationState } from "./entitlements.js";

/*
 * The admission batch's wire form, declared once. Each list below names the fields of one
 * PostgreSQL composite type in order, with their SQL types: the function installer creates
 * the types from these lists (`src/platform/db/functions.ts`), `admit.sql` reads the fields by these
 * names, and the store encodes ops and decodes decisions through them. A field added here is
 * added on both sides.
 */

/** One field of a composite type: its SQL name and type, and how a value is encoded. */
export interface WireField<T> {
  name: string;
  sqlType: string;
  value(input: T): string | Decimal | Date | boolean | number | readonly unknown[] | object | null;
}

/**
 * A counter's limits as the batch applies them: `allowance` (the plan's or the override's),
 * the overage `cap` of a soft limit (undefined: none) or `hard`, whether the tenant has
 * `grants` on the resource (their balance is read in the batch), the resource kind, the
 * threshold fractions to announce and the plan, for events.
 */
export interface LimitInfo {
  allowance: Decimal;
  cap: Decimal | undefined;
  hard: boolean;
  grants: boolean;
  allocation: boolean;
  thresholds: readonly Decimal[];
  planId: string;
  /** The rolling window's length in milliseconds; undefined: the billing period. */
  windowMs: number | undefined;
}

/** What identifies a request behind an idempotency key, stored with its first answer. */
export interface IdempotencyClaim {
  key: string;
  operation: string;
  fingerprint: string;
}

/** One call as `tollgate_admit` takes it (`tollgate_admission_op`); tenant-free: the group has one. */
export interface WireOp {
  /** 1-based position in the batch: arrival order. */
  position: number;
  kind: "admit" | "hold" | "add" | "read" | "commit" | "release";
  resourceType: string;
  periodStart: Date;
  /** Undefined only for a commit of the held quantity, or a release. */
  quantity: Decimal | undefined;
  limits: LimitInfo | undefined;
  idempotency: IdempotencyClaim | undefined;
  /** Keyed calls only: what the call knew before the batch, stored with the decision. */
  answerTemplate: Record<string, unknown> | undefined;
  reservationId: string | undefined;
  hold: { expireTime: Date; createTime: Date } | undefined;
  /** How long the caller still waits, in milliseconds; undefined: no deadline. */
  budgetMs: number | undefined;
  /** How the counter aggregates (`Aggregation`). */
  aggregation: string;
  /** The member a `unique_count` call counts; undefined for the other meters. */
  member: string | undefined;
  /**
   * 0 for a call's first op, which carries its key, answer and hold; 1, 2, … for the other
   * counters it counts on (its dimension limits), decided with it.
   */
  part: number;
}

export const ADMISSION_OP_FIELDS: readonly WireField<WireOp>[] = [
  { name: "position", sqlType: "int", value: (o) => o.position },
  { name: "kind", sqlType: "text", value: (o) => o.kind },
  { name: "resource_type", sqlType: "text", value: (o) => o.resourceType },
  { name: "period_start", sqlType: "timestamptz", value: (o) => o.periodStart },
  { name: "quantity", sqlType: "numeric", value: (o) => o.quantity ?? null },
  { name: "allowance", sqlType: "numeric", value: (o) => o.limits?.allowance ?? null },
  { name: "overage_cap", sqlType: "numeric", value: (o) => o.limits?.cap ?? null },
  { name: "hard_limit", sqlType: "boolean", value: (o) => o.limits?.hard ?? true },
  { name: "has_grants", sqlType: "boolean", value: (o) => o.limits?.grants ?? false },
  { name: "allocation", sqlType: "boolean", value: (o) => o.limits?.allocation ?? false },
  { name: "thresholds", sqlType: "numeric[]", value: (o) => o.limits?.thresholds ?? [] },
  { name: "plan_id", sqlType: "text", value: (o) => o.limits?.planId ?? null },
  { name: "idempotency_key", sqlType: "text", value: (o) => o.idempotency?.key ?? null },
  { name: "operation", sqlType: "text", value: (o) => o.idempotency?.operation ?? null },
  { name: "fingerprint", sqlType: "text", value: (o) => o.idempotency?.fingerprint ?? null },
  { name: "answer_template", sqlType: "jsonb", value: (o) => o.answerTemplate ?? null },
  { name: "reservation_id", sqlType: "uuid", value: (o) => o.reservationId ?? null },
  { name: "hold_expire_time", sqlType: "timestamptz", value: (o) => o.hold?.expireTime ?? null },
  { name: "hold_create_time", sqlType: "timestamptz", value: (o) => o.hold?.createTime ?? null },
  { name: "budget_ms", sqlType: "int", value: (o) => o.budgetMs ?? null },
  { name: "aggregation", sqlType: "text", value: (o) => o.aggregation },
  { name: "member", sqlType: "text", value: (o) => o.member ?? null },
  { name: "part", sqlType: "int", value: (o) => o.part },
  { name: "window_ms", sqlType: "bigint", value: (o) => o.limits?.windowMs ?? null },
];

/**
 * What `tollgate_admit` answers for one call (`tollgate_admission_decision`). `outcome`:
 * `done`, `replay` (`replay` holds the key's stored operation, fingerprint and response),
 * `busy` (the key's first call has no answer yet), `deadline` (dropped unstarted),
 * `not_found`, `refused` and `unchanged` for commits and releases. `admitted` says whether an
 * admit or hold fit; `used` and `reserved` are the counter after the call; `granted`,
 * `grant_remaining` and `ceiling` are set when grants count for the call's resource.
 */
export interface WireDecision {
  position: number;
  outcome: "done" | "replay" | "busy" | "deadline" | "not_found" | "refused" | "unchanged";
  admitted: boolean | null;
  used: string | null;
  reserved: string | null;
  granted: string | null;
  grant_remaining: string | null;
  ceiling: string | null;
  reservation_state: ReservationState | null;
  committed_quantity: string | null;
  replay: { operation: string; fingerprint: string; response: unknown } | null;
  /** True on every decision of a tenant share that may have written events. */
  emitted: boolean;
  /** On a rolling window: when the batch decided (the database's clock). */
  window_time: Date | null;
  /** On a rolling window: when its oldest counted unit leaves it. */
  reset_time: Date | null;
  /** On a denied call on a rolling window: when it would fit; null if never. */
  retry_time: Date | null;
}

/** The decision's fields, for its type; the store reads the columns by these names. */
export const ADMISSION_DECISION_FIELDS: readonly (readonly [keyof WireDecision, string])[] = [
  ["position", "int"],
  ["outcome", "text"],
  ["admitted", "boolean"],
  ["used", "numeric"],
  ["reserved", "numeric"],
  ["granted", "numeric"],
  ["grant_remaining", "numeric"],
  ["ceiling", "numeric"],
  ["reservation_state", "text"],
  ["committed_quantity", "numeric"],
  ["replay", "jsonb"],
  ["emitted", "boolean"],
  ["window_time", "timestamptz"],
  ["reset_time", "timestamptz"],
  ["retry_time", "timestamptz"],
];

/** A counter's limits as the settle sweep passes them (`tollgate_counter_limits`). */
export interface WireCounterLimits {
  resourceType: string;
  periodStart: Date;
  /** Undefined: nothing limits the resource. */
  allowance: Decimal | undefined;
  allocation: boolean;
  thresholds: readonly Decimal[];
  planId: string;
}

export const COUNTER_LIMITS_FIELDS: readonly WireField<WireCounterLimits>[] = [
  { name: "resource_type", sqlType: "text", value: (c) => c.resourceType },
  { name: "period_start", sqlType: "timestamptz", value: (c) => c.periodStart },
  { name: "allowance", sqlType: "numeric", value: (c) => c.allowance ?? null },
  { name: "allocation", sqlType: "boolean", value: (c) => c.allocation },
  { name: "thresholds", sqlType: "numeric[]", value: (c) => c.thresholds },
  { name: "plan_id", sqlType: "text", value: (c) => c.planId },
];

/**
 * The composite types, created by the function installer before the functions that use them
 * and kept while their declaration is unchanged (a prepared statement names them by OID).
 */
export const WIRE_TYPES: readonly {
  name: string;
  fields: readonly (readonly [string, string])[];
}[] = [
  {
    name: "tollgate_admission_op",
    fields: ADMISSION_OP_FIELDS.map((f) => [f.name, f.sqlType] as const),
  },
  { name: "tollgate_admission_decision", fields: ADMISSION_DECISION_FIELDS },
  {
    name: "tollgate_counter_limits",
    fields: COUNTER_LIMITS_FIELDS.map((f) => [f.name, f.sqlType] as const),
  },
  // Internal to admit.sql: a counter as the meter fold starts from it, one call's step on one
  // of its counters, and the fold's row after it.
  {
    name: "tollgate_fold_counter",
    fields: [
      ["resource_type", "text"],
      ["period_start", "timestamptz"],
      ["used", "numeric"],
      ["reserved", "numeric"],
    ],
  },
  {
    name: "tollgate_fold_step",
    fields: [
      ["position", "int"],
      ["part", "int"],
      ["kind", "text"],
      ["resource_type", "text"],
      ["period_start", "timestamptz"],
      ["quantity", "numeric"],
      ["ceiling", "numeric"],
      ["outcome", "text"],
      ["held", "numeric"],
      ["amount", "numeric"],
      ["aggregation", "text"],
      ["member", "text"],
    ],
  },
  {
    name: "tollgate_fold_row",
    fields: [
      ["resource_type", "text"],
      ["period_start", "timestamptz"],
      ["step", "bigint"],
      ["used", "numeric"],
      ["reserved", "numeric"],
      ["admitted", "boolean"],
      ["position", "int"],
      ["part", "int"],
      ["blocked", "boolean"],
      ["member_added", "text"],
      ["stamped", "boolean"],
    ],
  },
  // Internal to admit.sql: what active grants hold per counter of a batch.
  {
    name: "tollgate_counter_room",
    fields: [
      ["resource_type", "text"],
      ["period_start", "timestamptz"],
      ["room", "numeric"],
    ],
  },
];

/**
 * An array of composite values in PostgreSQL's text form (`{"(…,…)","(…,…)"}`), which
 * node-postgres passes as one parameter and PostgreSQL parses without any JSON.
 */
export function encodeComposites<T>(fields: readonly WireField<T>[], rows: readonly T[]): string {
  const records = rows.map((row) => {
    const cells = fields.map((f) => {
      const value = f.value(row);
      return value === null || value === undefined ? "" : quote(textOf(value));
    });
    return quote(`(${cells.join(",")})`);
  });
  return `{${records.join(",")}}`;
}

function textOf(value: NonNullable<ReturnType<WireField<unknown>["value"]>>): string {
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return `{${value.map((v) => textOf(v)).join(",")}}`;
  if (typeof value === "object") return isDecimal(value) ? value.toFixed() : JSON.stringify(value);
  if (typeof value === "boolean") return value ? "t" : "f";
  return String(value);
}

function isDecimal(value: object): value is Decimal {
  return typeof (value as Decimal).toFixed === "function" && "d" in value;
}

// Both record fields and array elements quote the same way: double quotes around, and a
// backslash before every double quote and backslash inside.
function quote(text: string): string {
  return `"${text.replace(/["\\]/g, "\\$&")}"`;
}
