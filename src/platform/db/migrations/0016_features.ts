import type { Knex } from "knex";

/**
 * Features (`src/features`). `feature_overrides` holds a tenant's own value of one feature
 * (as the request wrote it: `true`, `"90"`, `"priority"`) until `expire_time` (null: until
 * deleted).
 *
 * `entitlement_states` holds, per tenant, what it was last announced to be entitled to: the
 * plan, every feature's value and every limit (`snapshot`), and the earliest time at which that
 * changes by time alone (`next_change_time`: an override's expiry), which the expiry sweep
 * looks for. A change recomputes the snapshot with the tenant's event head locked and emits
 * `entitlement.updated` only when it differs, so each change is announced once, whichever
 * replica or retry gets there.
 *
 * Keyed by tenant first, as every tenant table is, and without triggers.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable("feature_overrides", (t) => {
    t.uuid("tenant_id").notNullable();
    t.text("feature").notNullable();
    t.text("value").notNullable();
    t.timestamp("expire_time", { useTz: true });
    t.timestamp("create_time", { useTz: true }).notNullable();
    t.timestamp("update_time", { useTz: true }).notNullable();
    t.primary(["tenant_id", "feature"]);
  });
  await knex.schema.createTable("entitlement_states", (t) => {
    t.uuid("tenant_id").notNullable().primary();
    t.jsonb("snapshot").notNullable();
    t.timestamp("next_change_time", { useTz: true });
    t.timestamp("update_time", { useTz: true }).notNullable();
    t.index(["next_change_time"], "entitlement_states_due_idx");
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable("entitlement_states");
  await knex.schema.dropTable("feature_overrides");
}
