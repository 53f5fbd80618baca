import type { Knex } from "knex";

/**
 * Which version of Tollgate's SQL functions the database holds (one row): the function
 * installer (`src/platform/db/functions.ts`) reads it to install its set once, and to leave a newer
 * replica's set alone. From here on the functions live in `.sql` files beside their domains.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable("installed_functions", (t) => {
    t.smallint("id").primary();
    t.integer("version").notNullable();
    t.text("hash").notNullable();
    t.timestamp("install_time", { useTz: true }).notNullable();
  });
  await knex.raw(
    "alter table installed_functions add constraint installed_functions_one check (id = 1)",
  );
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable("installed_functions");
}
