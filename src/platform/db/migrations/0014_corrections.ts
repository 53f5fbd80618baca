import type { Knex } from "knex";

/**
 * Corrections (`src/corrections`): usage is voided, never deleted. An ingested event
 * (`usage_events`) or a recorded admission (`entitlement_requests`) that was voided keeps its
 * row with when, why, by whom and by which request it was voided; every figure derived from it
 * (counters, rollups, members, grant draws, meter reports) is corrected in the void's
 * transaction or, for the provider's meters, by the next compensating delta.
 *
 * - `usage_counters.alert_round` numbers the threshold alerts of a counter's period: a
 *   correction that brings usage back below a crossed threshold starts a new round, so the
 *   threshold fires again (its events' dedupe keys carry the round).
 * - `meter_positions.reports` numbers a counter's deltas, so a delta's identifier is unique
 *   even when corrections bring a position back to a value it had before.
 * - A meter delta may be negative: a compensating report after a correction.
 */
export async function up(knex: Knex): Promise<void> {
  for (const table of ["usage_events", "entitlement_requests"]) {
    await knex.raw(`
      alter table ${table}
        add column void_time timestamptz,
        add column void_reason text,
        add column voided_by text,
        add column void_request_id text`);
  }
  await knex.raw("alter table usage_counters add column alert_round integer not null default 0");
  await knex.raw("alter table meter_positions add column reports integer not null default 0");
  await knex.raw(`
    alter table meter_reports drop constraint meter_reports_whole_positive,
      add constraint meter_reports_whole_nonzero check (value <> 0 and value = trunc(value))`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    alter table meter_reports drop constraint meter_reports_whole_nonzero,
      add constraint meter_reports_whole_positive check (value > 0 and value = trunc(value))`);
  await knex.raw("alter table meter_positions drop column reports");
  await knex.raw("alter table usage_counters drop column alert_round");
  for (const table of ["usage_events", "entitlement_requests"]) {
    await knex.raw(`
      alter table ${table}
        drop column void_time, drop column void_reason, drop column voided_by,
        drop column void_request_id`);
  }
}
