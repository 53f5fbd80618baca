import { Decimal } from "decimal.js";
import type { Knex } from "knex";
import type { MeterEvent } from "../billing/provider.js";
import { groupByTenant } from "../platform/db/tenants.js";
import type { PositionRow, ReportRow } from "./rows.js";

/** A counter with usage not yet handed to the outbox, and whom it bills. */
export interface MeterCandidate {
  tenantId: string;
  resourceType: string;
  periodStart: Date;
  /** When the counter's period ends (or ended): the subscription's period or cancellation. */
  periodEnd: Date;
  customerId: string;
  planId: string;
  planVersion: number;
}

/**
 * A delta in the outbox: the meter event it is sent as, with the same identifier and value every
 * time, and the counter it comes from.
 */
export interface MeterReport extends MeterEvent {
  tenantId: string;
  resourceType: string;
  periodStart: Date;
  attempts: number;
  firstAttemptTime: Date | undefined;
}

/** A delta to write, with the position it advances its counter to. */
export interface NewMeterReport extends Omit<MeterReport, "attempts" | "firstAttemptTime"> {
  reportedTotal: Decimal;
}

/** Queries over the meter outbox (`meter_positions`, `meter_reports`). */
export interface MeterStore {
  /**
   * Counters of metered resources, in a subscription's era (from its creation to its
   * cancellation), whose whole billable units (usage not drawn from grants) differ from what
   * was handed to the outbox (more usage, or less after a correction), with no delta pending and no settle queued (its draws are not known
   * yet), and whose period ended at most `since` ago.
   */
  candidates(
    resourceTypes: readonly string[],
    since: Date,
    limit: number,
  ): Promise<MeterCandidate[]>;
  /**
   * Locks the positions of one tenant's `keys` that no other transaction holds (creating
   * missing ones at zero), and returns them with their counter's usage, skipping keys with a
   * pending delta.
   */
  lockPositions(
    trx: Knex.Transaction,
    tenantId: string,
    keys: readonly MeterCandidate[],
  ): Promise<
    {
      key: MeterCandidate;
      reported: Decimal;
      /** How many deltas the counter has had: the next one's number. */
      reports: number;
      used: Decimal;
      /** A total's dimension counters (by counter name), read with it. */
      parts: ReadonlyMap<string, Decimal>;
    }[]
  >;
  /** Writes deltas and advances their positions, in the caller's transaction. */
  insertReports(
    trx: Knex.Transaction,
    reports: readonly NewMeterReport[],
    now: Date,
  ): Promise<void>;
  /**
   * Locks up to `limit` due pending deltas that no other transaction holds: the tenants with
   * due deltas are read first, then each tenant's deltas are locked by a statement of its own,
   * in tenant order, oldest first within a tenant.
   */
  lockDue(db: Knex, now: Date, limit: number): Promise<MeterReport[]>;
  markSent(db: Knex, reports: readonly MeterReport[], now: Date): Promise<void>;
  /** Records a failed attempt; `retryAt` undefined gives the delta up (state `failed`). */
  markFailed(
    db: Knex,
    reports: readonly MeterReport[],
    now: Date,
    error: string,
    retryAt: Date | undefined,
  ): Promise<void>;
  /** Pending deltas and the creation time of the oldest, for the sync-lag gauge. */
  pending(): Promise<{ count: number; oldest: Date | undefined }>;
  transaction<T>(work: (trx: Knex.Transaction) => Promise<T>): Promise<T>;
  /** Runs `work` on the pool, statement by statement. */
  direct<T>(work: (db: Knex) => Promise<T>): Promise<T>;
}

const KEY_COLUMNS = "(tenant_id, resource_type, period_start)";

const keyRows = (keys: readonly MeterCandidate[]) => ({
  r: keys.map((k) => k.resourceType),
  p: keys.map((k) => k.periodStart),
});

/** A counter whose usage the provider has not been told in full, with its subscription. */
interface CandidateRow {
  tenant_id: string;
  resource_type: string;
  period_start: Date;
  period_end: Date;
  customer_id: string;
  plan_id: string;
  plan_version: number;
}

/** Counts an attempt of `reports` with its outcome, one tenant's rows per statement. */
async function recordAttempt(
  db: Knex,
  reports: readonly MeterReport[],
  now: Date,
  outcome: Pick<ReportRow, "state" | "last_error"> &
    Partial<Pick<ReportRow, "sent_time" | "next_attempt_time">>,
): Promise<void> {
  for (const [tenantId, own] of groupByTenant(reports)) {
    await db("meter_reports")
      .where({ tenant_id: tenantId })
      .whereIn(
        "identifier",
        own.map((r) => r.identifier),
      )
      .update({
        ...outcome,
        attempts: db.raw("attempts + 1"),
        first_attempt_time: db.raw("coalesce(first_attempt_time, ?)", [now]),
      });
  }
}

/** Creates the meter outbox store. */
export function createMeterStore(knex: Knex): MeterStore {
  return {
    async candidates(resourceTypes, since, limit) {
      const result = await knex.raw<{ rows: CandidateRow[] }>(
        `select * from (
           select c.tenant_id, c.resource_type, c.period_start, s.customer_id, s.plan_id,
             s.plan_version,
             case when c.period_start = s.current_period_start_time then
                    case when s.state = 'canceled'
                      then least(s.cancel_time, s.current_period_end_time)
                      else s.current_period_end_time end
                  else s.current_period_start_time end as period_end
           from usage_counters c
           join subscriptions s on s.tenant_id = c.tenant_id
             and c.period_start >= s.create_time
             and (s.state in ('trialing', 'active', 'past_due')
                  or (s.state = 'canceled' and c.period_start < s.cancel_time))
           left join meter_positions mp on mp.tenant_id = c.tenant_id
             and mp.resource_type = c.resource_type and mp.period_start = c.period_start
           where c.resource_type = any(?)
             and round(c.used - c.granted) <> coalesce(mp.reported, 0)
             and not exists (
               select 1 from counter_settle_queue q where q.tenant_id = c.tenant_id
                 and q.resource_type = c.resource_type and q.period_start = c.period_start)
             and not exists (
               select 1 from meter_reports r where r.state = 'pending'
                 and r.tenant_id = c.tenant_id and r.resource_type = c.resource_type
                 and r.period_start = c.period_start)
         ) x
         where x.period_end > ?
         order by x.tenant_id, x.resource_type, x.period_start
         limit ?`,
        [[...resourceTypes], since, limit],
      );
      return result.rows.map((row) => ({
        tenantId: row.tenant_id,
        resourceType: row.resource_type,
        periodStart: new Date(row.period_start),
        periodEnd: new Date(row.period_end),
        customerId: row.customer_id,
        planId: row.plan_id,
        planVersion: row.plan_version,
      }));
    },

    async lockPositions(trx, tenantId, keys) {
      if (keys.length === 0) return [];
      const { r, p } = keyRows(keys);
      // Sorted inserts and locks: replicas planning at once never deadlock.
      await trx.raw(
        `insert into meter_positions ${KEY_COLUMNS}
         select ?::uuid, k.r, k.p from unnest(?::text[], ?::timestamptz[]) as k(r, p)
         order by 2, 3
         on conflict do nothing`,
        [tenantId, r, p],
      );
      // A total's dimension counters are read in the same statement: admissions and ingestion
      // change a total and its dimension counters in one transaction, so the figures agree.
      const result = await trx.raw<{
        rows: (PositionRow & { used: string; parts: Record<string, string> })[];
      }>(
        `with locked as (
           select mp.* from meter_positions mp
           join unnest(?::text[], ?::timestamptz[]) as k(r, p)
             on mp.resource_type = k.r and mp.period_start = k.p
           where mp.tenant_id = ?
           order by mp.resource_type, mp.period_start
           for update of mp skip locked)
         select l.tenant_id, l.resource_type, l.period_start, l.reported, l.reports,
           c.used - c.granted as used,
           (select coalesce(jsonb_object_agg(d.resource_type, (d.used - d.granted)::text), '{}')
            from usage_counters d
            where d.tenant_id = ? and d.period_start = l.period_start
              and left(d.resource_type, length(l.resource_type) + 1) = l.resource_type || '{')
             as parts
         from locked l
         join usage_counters c on c.tenant_id = ? and c.tenant_id = l.tenant_id
           and c.resource_type = l.resource_type and c.period_start = l.period_start
         where not exists (
           select 1 from meter_reports r where r.state = 'pending'
             and r.tenant_id = ? and r.resource_type = l.resource_type
             and r.period_start = l.period_start)`,
        [r, p, tenantId, tenantId, tenantId, tenantId],
      );
      const byKey = new Map(
        keys.map((k) => [`${k.tenantId}/${k.resourceType}/${k.periodStart.getTime()}`, k]),
      );
      return result.rows.flatMap((row) => {
        const at = new Date(row.period_start).getTime();
        const key = byKey.get(`${row.tenant_id}/${row.resource_type}/${at}`);
        return key === undefined
          ? []
          : [
              {
                key,
                reported: new Decimal(row.reported),
                reports: row.reports,
                used: new Decimal(row.used),
                parts: new Map(
                  Object.entries(row.parts).map(([name, used]) => [name, new Decimal(used)]),
                ),
              },
            ];
      });
    },

    async insertReports(trx, reports, now) {
      if (reports.length === 0) return;
      await trx("meter_reports").insert(
        reports.map((report) => ({
          identifier: report.identifier,
          tenant_id: report.tenantId,
          resource_type: report.resourceType,
          period_start: report.periodStart,
          customer_id: report.customerId,
          event_name: report.eventName,
          value: report.value.toFixed(),
          event_time: report.timestamp,
          state: "pending",
          next_attempt_time: now,
          create_time: now,
        })),
      );
      for (const [tenantId, own] of groupByTenant(reports)) {
        await trx.raw(
          `update meter_positions mp set reported = u.total, reports = mp.reports + 1
           from unnest(?::text[], ?::timestamptz[], ?::numeric[]) as u(r, p, total)
           where mp.tenant_id = ? and mp.resource_type = u.r and mp.period_start = u.p`,
          [
            own.map((x) => x.resourceType),
            own.map((x) => x.periodStart),
            own.map((x) => x.reportedTotal.toFixed()),
            tenantId,
          ],
        );
      }
    },

    async lockDue(db, now, limit) {
      const tenants = await db("meter_reports")
        .distinct("tenant_id")
        .where({ state: "pending" })
        .andWhere("next_attempt_time", "<=", now)
        .orderBy("tenant_id")
        .limit(limit);
      const rows: ReportRow[] = [];
      for (const { tenant_id } of tenants) {
        if (rows.length >= limit) break;
        rows.push(
          ...(await db("meter_reports")
            .where({ tenant_id, state: "pending" })
            .andWhere("next_attempt_time", "<=", now)
            .orderBy([{ column: "next_attempt_time" }, { column: "identifier" }])
            .limit(limit - rows.length)
            .forUpdate()
            .skipLocked()),
        );
      }
      return rows.map((row) => ({
        identifier: row.identifier,
        tenantId: row.tenant_id,
        resourceType: row.resource_type,
        periodStart: new Date(row.period_start),
        customerId: row.customer_id,
        eventName: row.event_name,
        value: new Decimal(row.value),
        timestamp: new Date(row.event_time),
        attempts: row.attempts,
        firstAttemptTime:
          row.first_attempt_time == null ? undefined : new Date(row.first_attempt_time),
      }));
    },

    async markSent(db, reports, now) {
      await recordAttempt(db, reports, now, { state: "sent", sent_time: now, last_error: null });
    },

    async markFailed(db, reports, now, error, retryAt) {
      await recordAttempt(db, reports, now, {
        state: retryAt === undefined ? "failed" : "pending",
        next_attempt_time: retryAt ?? now,
        last_error: error.slice(0, 1000),
      });
    },

    async pending() {
      const result = await knex.raw<{ rows: { count: string; oldest: Date | null }[] }>(
        "select count(*) as count, min(create_time) as oldest from meter_reports where state = 'pending'",
      );
      const row = result.rows[0];
      return {
        count: Number(row?.count ?? 0),
        oldest: row?.oldest == null ? undefined : new Date(row.oldest),
      };
    },

    transaction: (work) => knex.transaction(work),
    direct: (work) => work(knex),
  };
}
