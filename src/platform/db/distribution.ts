import type { Knex } from "knex";

/*
 * Tollgate on a distributed database (Citus, docs/scaling.md). The schema itself says where each
 * table goes, so nothing here lists tables by name:
 *
 * - a tenant table is one with a non-null `tenant_id` column; it is distributed by it, every
 *   one co-located with every other, so a tenant's rows of every table share one node and any
 *   statement naming one tenant runs there whole;
 * - every other table of Tollgate's (API keys, webhook endpoints, Stripe event ids, the mock
 *   provider's objects, ...) is a reference table, copied to every node, so a tenant's
 *   statements may join it where they run;
 * - knex's own bookkeeping (`knex_migrations*`) stays on the coordinator, where migrations run;
 * - a function whose first parameter is `p_tenant uuid` is a distributed function on that
 *   argument: called on its own, it runs on the tenant's node, next to its rows (functions
 *   over several tenants, `p_tenants uuid[]`, are a single node's batches and are not used).
 *
 * The rules that make this possible hold on plain PostgreSQL too, and a test reads them from
 * the catalog after migrating (`test/schema-rules.e2e.test.ts`).
 */

/** Tables that stay where migrations run: knex's own. */
export const LOCAL_TABLES = ["knex_migrations", "knex_migrations_lock"];

/** The query that splits the schema's tables into tenant tables and the others. */
export const TABLE_KINDS_SQL = `
  select c.relname as name,
    exists (select 1 from pg_attribute a
            where a.attrelid = c.oid and a.attname = 'tenant_id' and a.attnotnull
              and not a.attisdropped) as tenant
  from pg_class c
  where c.relnamespace = current_schema()::regnamespace and c.relkind in ('r', 'p')
    and c.relname <> all(?)
  order by c.relname`;

/** The query that lists the functions that run per tenant, by signature. */
export const TENANT_FUNCTIONS_SQL = `
  select p.oid::regprocedure::text as signature from pg_proc p
  where p.pronamespace = current_schema()::regnamespace and p.proname like 'tollgate\\_%'
    and p.pronargs > 0 and p.proargtypes[0] = 'uuid'::regtype
    and p.proargnames[1] = 'p_tenant'
  order by 1`;

/** Whether the database is distributed: the `citus` extension is installed. */
export async function isDistributed(db: Knex | Knex.Transaction): Promise<boolean> {
  const result = await db.raw<{ rows: { found: boolean }[] }>(
    "select exists (select 1 from pg_extension where extname = 'citus') as found",
  );
  return result.rows[0]?.found === true;
}

/** What {@link distribute} did: the tables and functions it placed now. */
export interface Distribution {
  reference: string[];
  distributed: string[];
  functions: string[];
}

/**
 * Places every table and per-tenant function that is not placed yet, on a connection that
 * holds the migration lock, after the migrations and the function install: idempotent, and a
 * new table or a reinstalled function is placed by the next run.
 */
export async function distribute(db: Knex | Knex.Transaction): Promise<Distribution> {
  const placed = new Set(
    (
      await db.raw<{ rows: { name: string }[] }>(
        "select logicalrelid::regclass::text as name from pg_dist_partition",
      )
    ).rows.map((r) => r.name),
  );
  const kinds = (
    await db.raw<{ rows: { name: string; tenant: boolean }[] }>(TABLE_KINDS_SQL, [LOCAL_TABLES])
  ).rows;
  const reference = kinds.filter((k) => !k.tenant && !placed.has(k.name)).map((k) => k.name);
  // A foreign key from a table still local to one becoming a reference table makes Citus
  // convert the local side first; such keys are set aside and added back once both are placed.
  const crossing = await keysInto(db, reference);
  for (const key of crossing) {
    await db.raw(`alter table ${key.child} drop constraint ${key.name}`);
  }
  for (const name of reference) {
    await db.raw("select create_reference_table(?)", [name]);
  }
  // Every tenant table has a uuid `tenant_id` and the same shard count, so the default
  // co-location puts them all in one group.
  const tenantTables = await parentsFirst(
    db,
    kinds.filter((k) => k.tenant).map((k) => k.name),
  );
  const distributed = tenantTables.filter((name) => !placed.has(name));
  for (const name of distributed) {
    await db.raw("select create_distributed_table(?, 'tenant_id')", [name]);
  }
  for (const key of crossing) {
    await db.raw(`alter table ${key.child} add constraint ${key.name} ${key.definition}`);
  }
  const [anchor] = tenantTables;
  const functions: string[] = [];
  if (anchor === undefined) return { reference, distributed, functions };
  const candidates = await db.raw<{ rows: { signature: string }[] }>(
    `select f.signature from (${TENANT_FUNCTIONS_SQL}) f
     where not exists (select 1 from pg_dist_object o
                       where o.classid = 'pg_proc'::regclass
                         and o.objid = f.signature::regprocedure
                         and o.distribution_argument_index is not null)`,
  );
  for (const { signature } of candidates.rows) {
    await db.raw("select create_distributed_function(?, '$1', colocate_with => ?)", [
      signature,
      anchor,
    ]);
    // A node routes a statement to the tenant's shard by the tenant's value, which a generic
    // plan does not know: a function forced onto generic plans for speed on one node plans
    // each statement for its values here.
    await db.raw(`alter function ${signature} reset plan_cache_mode`);
    functions.push(signature);
  }
  return { reference, distributed, functions };
}

/** The foreign keys of other tables that reference one of `tables`, with their definitions. */
async function keysInto(db: Knex | Knex.Transaction, tables: string[]) {
  const result = await db.raw<{ rows: { child: string; name: string; definition: string }[] }>(
    `select conrelid::regclass::text as child, conname as name,
       pg_get_constraintdef(oid) as definition
     from pg_constraint
     where contype = 'f' and connamespace = current_schema()::regnamespace
       and confrelid::regclass::text = any(?) and conrelid <> confrelid`,
    [tables],
  );
  return result.rows;
}

/** Tenant tables ordered so that a table comes after every table its foreign keys name. */
async function parentsFirst(db: Knex | Knex.Transaction, tables: string[]): Promise<string[]> {
  const edges = (
    await db.raw<{ rows: { child: string; parent: string }[] }>(
      `select conrelid::regclass::text as child, confrelid::regclass::text as parent
       from pg_constraint
       where contype = 'f' and connamespace = current_schema()::regnamespace`,
    )
  ).rows;
  const ordered: string[] = [];
  const visit = (name: string) => {
    if (ordered.includes(name)) return;
    for (const edge of edges) {
      if (edge.child === name && edge.parent !== name && tables.includes(edge.parent)) {
        visit(edge.parent);
      }
    }
    ordered.push(name);
  };
  for (const name of [...tables].sort()) visit(name);
  return ordered;
}
