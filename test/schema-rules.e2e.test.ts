import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { queryRows } from "./support/app.js";
import { createMigratedDatabase, type TestDatabase } from "./support/database.js";
import { referenceTables, schemaViolations } from "./support/schema-rules.js";

/*
 * The rules of a schema that a database distributed by tenant can hold (docs/scaling.md),
 * checked on plain PostgreSQL after migrating, so every later table and function keeps them
 * although CI has no Citus.
 */
describe("the schema's distribution rules", () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createMigratedDatabase();
  });
  afterAll(async () => {
    await db?.drop();
  });

  it("should hold for every table, key, trigger, sequence and function after migrating", async () => {
    // given the migrated schema with its functions
    const tables = await queryRows(
      db.url,
      "select count(*)::int as n from pg_tables where schemaname = current_schema()",
    );
    expect((tables[0] as { n: number }).n).toBeGreaterThan(20);

    // then nothing breaks a rule
    expect(await schemaViolations(db.url)).toEqual([]);
  });

  it("should know every table that is not a tenant's, so none escapes the rules unseen", async () => {
    // given the tables the rules take for reference tables (no non-null tenant_id)
    const reference = await referenceTables(db.url);

    // then each is one that no tenant owns, as docs/scaling.md lists them: a new table is a
    // tenant's (tenant_id not null, first in its keys) or is added here on purpose
    expect(reference).toEqual([
      "api_keys",
      "catalog_versions",
      "installed_functions",
      "mock_billing_objects",
      "mock_billing_requests",
      "mock_meter_events",
      "rate_limit_buckets",
      "stripe_events",
      "test_clock",
      "webhook_endpoints",
    ]);
  });

  it("should name each kind of violation it finds", async () => {
    // given a scratch schema with one object breaking each rule
    await queryRows(
      db.url,
      `begin;
       create schema rules_check;
       set local search_path = rules_check;
       create table parent (tenant_id uuid not null, id text, primary key (tenant_id, id));
       create table loose (id text primary key, tenant_id uuid not null,
         ref text, seq bigint generated always as identity);
       create table tied (tenant_id uuid not null, id text, parent_id text,
         primary key (tenant_id, id), foreign key (tenant_id, parent_id) references parent);
       create table shared (id text primary key, parent_tenant uuid, parent_id text,
         foreign key (parent_tenant, parent_id) references parent (tenant_id, id));
       alter table loose add constraint loose_parent foreign key (tenant_id, ref)
         references parent (tenant_id, id);
       create table untied (tenant_id uuid not null, id text primary key, parent_tenant uuid,
         parent_id text, foreign key (parent_tenant, parent_id) references parent (tenant_id, id));
       create function tollgate_probe(p_id text) returns bigint language sql
         as 'select count(*) from loose where id = p_id';
       create function tollgate_touch() returns trigger language plpgsql
         as 'begin return new; end';
       create trigger loose_touch before insert on loose
         for each row execute function tollgate_touch();
       commit`,
    );
    const url = new URL(db.url);
    url.searchParams.set("options", "-c search_path=rules_check");

    // when the rules read it
    const found = await schemaViolations(url.toString());

    // then each broken rule names its object, and the tenant-keyed ones pass
    expect(found).toEqual(
      expect.arrayContaining([
        { rule: "key without tenant first", object: "loose.loose_pkey" },
        { rule: "key without tenant first", object: "untied.untied_pkey" },
        {
          rule: "foreign key without tenant",
          object: "untied.untied_parent_tenant_parent_id_fkey",
        },
        {
          rule: "foreign key from a reference table",
          object: "shared.shared_parent_tenant_parent_id_fkey",
        },
        { rule: "trigger", object: "loose.loose_touch" },
        { rule: "sequence", object: "loose.seq" },
        { rule: "function without tenant first", object: "tollgate_probe(text)" },
      ]),
    );
    expect(
      found.filter((v) => v.object.startsWith("tied") || v.object.startsWith("parent")),
    ).toEqual([]);
    expect(found.some((v) => v.object === "loose.loose_parent")).toBe(false);
  });
});
