import type pg from "pg";
import { LOCAL_TABLES, TABLE_KINDS_SQL } from "../../src/platform/db/distribution.js";
import { withClient } from "./scratch-database.js";

/*
 * The rules that let a database distributed by tenant (Citus) hold Tollgate's schema, read from
 * PostgreSQL's catalog (docs/scaling.md): a tenant table is one with a non-null `tenant_id`, as
 * `distribution.ts` decides, and every other table of the schema is a reference table.
 */

/** One broken rule: which rule, and the object that breaks it. */
export interface SchemaViolation {
  rule:
    | "key without tenant first"
    | "foreign key without tenant"
    | "foreign key from a reference table"
    | "trigger"
    | "sequence"
    | "function without tenant first";
  object: string;
}

/** The tables of the current schema that are not a tenant's: reference tables when distributed. */
export async function referenceTables(url: string): Promise<string[]> {
  return withClient(url, async (client) =>
    (await tableKinds(client)).filter((k) => !k.tenant).map((k) => k.name),
  );
}

/** Every violation in the current schema of the database at `url`. */
export async function schemaViolations(url: string): Promise<SchemaViolation[]> {
  return withClient(url, async (client) => {
    const tenantTables = (await tableKinds(client)).filter((k) => k.tenant).map((k) => k.name);
    const query = async (sql: string, values: unknown[] = []) =>
      (await client.query<{ object: string }>(sql, values)).rows.map((r) => r.object);
    const rule = (name: SchemaViolation["rule"]) => (objects: string[]) =>
      objects.map((object) => ({ rule: name, object }));
    return [
      // Primary keys, unique constraints and unique indexes (partial ones too) of tenant
      // tables: each is checked on one shard only if the tenant leads it.
      ...rule("key without tenant first")(
        await query(
          `select t.relname || '.' || i.relname as object
           from pg_index x
           join pg_class i on i.oid = x.indexrelid
           join pg_class t on t.oid = x.indrelid
           where x.indisunique and t.relname = any($1)
             and t.relnamespace = current_schema()::regnamespace
             and (select a.attname from pg_attribute a
                  where a.attrelid = t.oid and a.attnum = x.indkey[0]) is distinct from 'tenant_id'
           order by 1`,
          [tenantTables],
        ),
      ),
      // Foreign keys between tenant tables pair `tenant_id` with `tenant_id`, so a row and what
      // it references live on one node.
      ...rule("foreign key without tenant")(
        await query(
          `select c.conrelid::regclass::text || '.' || c.conname as object
           from pg_constraint c
           where c.contype = 'f' and c.connamespace = current_schema()::regnamespace
             and c.conrelid::regclass::text = any($1) and c.confrelid::regclass::text = any($1)
             and not exists (
               select 1 from unnest(c.conkey, c.confkey) as k(own, other)
               join pg_attribute a on a.attrelid = c.conrelid and a.attnum = k.own
               join pg_attribute b on b.attrelid = c.confrelid and b.attnum = k.other
               where a.attname = 'tenant_id' and b.attname = 'tenant_id')
           order by 1`,
          [tenantTables],
        ),
      ),
      // A reference table is copied to every node: it may not point into one tenant's shard.
      ...rule("foreign key from a reference table")(
        await query(
          `select c.conrelid::regclass::text || '.' || c.conname as object
           from pg_constraint c
           where c.contype = 'f' and c.connamespace = current_schema()::regnamespace
             and c.conrelid::regclass::text <> all($1)
             and c.confrelid::regclass::text = any($1)
           order by 1`,
          [tenantTables],
        ),
      ),
      // Events are written by the code that makes a change, never by a trigger.
      ...rule("trigger")(
        await query(
          `select c.relname || '.' || t.tgname as object
           from pg_trigger t join pg_class c on c.oid = t.tgrelid
           where not t.tgisinternal and c.relnamespace = current_schema()::regnamespace
           order by 1`,
        ),
      ),
      // A sequence numbers rows in one order across every tenant, which shards cannot keep:
      // no identity or serial column outside knex's own bookkeeping.
      ...rule("sequence")(
        await query(
          `select c.relname || '.' || a.attname as object
           from pg_attribute a
           join pg_class c on c.oid = a.attrelid
           left join pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
           where c.relnamespace = current_schema()::regnamespace and c.relkind in ('r', 'p')
             and c.relname <> all($1) and a.attnum > 0 and not a.attisdropped
             and (a.attidentity <> '' or pg_get_expr(d.adbin, d.adrelid) like 'nextval(%')
           order by 1`,
          [LOCAL_TABLES],
        ),
      ),
      // A function that reads or writes a tenant table names its tenant first: `p_tenant uuid`,
      // distributed on it, or `p_tenants uuid[]`, a single node's batch over named tenants.
      ...rule("function without tenant first")(
        await query(
          `select p.oid::regprocedure::text as object
           from pg_proc p
           where p.pronamespace = current_schema()::regnamespace
             and exists (select 1 from unnest($1::text[]) t
                         where p.prosrc ~ ('\\m' || t || '\\M'))
             and not (p.pronargs > 0
               and ((p.proargtypes[0] = 'uuid'::regtype and p.proargnames[1] = 'p_tenant')
                 or (p.proargtypes[0] = 'uuid[]'::regtype and p.proargnames[1] = 'p_tenants')))
           order by 1`,
          [tenantTables],
        ),
      ),
    ];
  });
}

async function tableKinds(client: pg.Client) {
  const result = await client.query<{ name: string; tenant: boolean }>(toPg(TABLE_KINDS_SQL), [
    LOCAL_TABLES,
  ]);
  return result.rows;
}

/** knex's `?` placeholders as node-postgres's `$n`. */
function toPg(sql: string): string {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
}
