import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import type { Knex } from "knex";

/*
 * Tollgate's SQL functions live in `.sql` files beside the domain that owns them; migrations
 * keep tables, indexes and data changes only. This step installs the functions after the
 * migrations on every start, under the migration lock, in one transaction: replicas see the
 * old set or the new one, never a mix. The set itself (files, wire types, version) is the
 * composition root's to list: this layer knows how to install, not what.
 */

/** A composite type that TypeScript and SQL exchange, field by field (`[name, sql type]`). */
export interface WireType {
  name: string;
  fields: readonly (readonly [string, string])[];
}

/**
 * The functions of one release. `version` orders releases: a replica installs its set when
 * the database holds an older version, or the same version with other contents (a
 * development edit), and leaves a newer version alone, so replicas of two releases running
 * side by side never take turns replacing each other's functions. Raise it with every change
 * to a file or a wire type.
 */
export interface FunctionSet {
  version: number;
  /** The files, in the order they install: each may use what the ones before it define. */
  files: readonly URL[];
  /** Created before the files; kept while their declaration is unchanged. */
  types: readonly WireType[];
}

/** A wire type's DDL, and the hash that marks it installed (the type's comment). */
function typeDdl(type: WireType) {
  const ddl = `create type ${type.name} as (${type.fields.map(([n, t]) => `${n} ${t}`).join(", ")})`;
  return { name: type.name, ddl, hash: createHash("sha256").update(ddl).digest("hex") };
}

/** The files' statements, in order. */
function fileStatements(set: FunctionSet): string[] {
  return set.files.flatMap((file) => splitStatements(readFileSync(file, "utf8")));
}

/**
 * A file's statements, one by one: PGlite runs one statement per query. Function bodies are
 * quoted `$fn$ … $fn$` by convention; outside them, comments are dropped and semicolons end
 * statements.
 */
function splitStatements(text: string): string[] {
  const statements: string[] = [];
  let current = "";
  for (const [i, part] of text.split("$fn$").entries()) {
    if (i % 2 === 1) {
      current += `$fn$${part}$fn$`;
      continue;
    }
    const [first, ...rest] = part.replace(/--[^\n]*/g, "").split(";");
    current += first;
    for (const piece of rest) {
      statements.push(current);
      current = piece;
    }
  }
  statements.push(current);
  return statements.map((s) => s.trim()).filter(Boolean);
}

/** What {@link installFunctions} did. */
export type InstallOutcome = "installed" | "current" | "newer";

/**
 * Installs the function set when the database does not hold it, on a connection or
 * transaction that holds the migration lock (or on single-connection PGlite).
 */
export async function installFunctions(
  db: Knex | Knex.Transaction,
  set: FunctionSet,
): Promise<InstallOutcome> {
  const files = fileStatements(set);
  const types = set.types.map(typeDdl);
  const hash = createHash("sha256")
    .update([...types.map((t) => t.ddl), ...files].join("\n;\n"))
    .digest("hex");
  const stored = await db("installed_functions").first("version", "hash");
  if (stored && stored.version > set.version) return "newer";
  if (stored && stored.version === set.version && stored.hash === hash) return "current";
  const install = async (trx: Knex.Transaction) => {
    await dropFunctions(trx, { keepTypes: true });
    const obsolete = await trx.raw(
      `select t.typname as name from pg_type t
       where t.typnamespace = current_schema()::regnamespace and t.typname like 'tollgate\\_%'
         and t.typtype = 'c' and t.typname <> all(?)`,
      [types.map((t) => t.name)],
    );
    for (const { name } of obsolete.rows as { name: string }[]) {
      await trx.raw(`drop type ${name} cascade`);
    }
    // A type whose declaration is unchanged stays, so statements other replicas prepared
    // with it keep working; one that changed is replaced (with what uses it).
    for (const type of types) {
      const current = await trx.raw(
        `select obj_description(t.oid, 'pg_type') as hash from pg_type t
         where t.typname = ? and t.typnamespace = current_schema()::regnamespace`,
        [type.name],
      );
      const row = (current.rows as { hash: string | null }[])[0];
      if (row?.hash === type.hash) continue;
      if (row) await trx.raw(`drop type ${type.name} cascade`);
      await trx.raw(type.ddl);
      await trx.raw(`comment on type ${type.name} is '${type.hash}'`);
    }
    for (const statement of files) await trx.raw(statement);
    await trx("installed_functions")
      .insert({ id: 1, version: set.version, hash, install_time: trx.fn.now() })
      .onConflict("id")
      .merge();
  };
  await ("commit" in db ? install(db as Knex.Transaction) : db.transaction(install));
  return "installed";
}

/**
 * Drops every Tollgate function (with the trigger that uses one) and type, and forgets the
 * installed version: rolling migrations back starts here, since the functions are written for
 * the newest schema, and the next start installs them again.
 */
export async function dropFunctions(
  db: Knex | Knex.Transaction,
  options: { keepTypes?: boolean } = {},
): Promise<void> {
  const functions = await db.raw(
    `select p.oid::regprocedure::text as name from pg_proc p
     where p.pronamespace = current_schema()::regnamespace and p.proname like 'tollgate\\_%'`,
  );
  for (const { name } of functions.rows as { name: string }[]) {
    await db.raw(`drop function if exists ${name} cascade`);
  }
  if (options.keepTypes) return;
  const types = await db.raw(
    `select t.typname as name from pg_type t
     where t.typnamespace = current_schema()::regnamespace and t.typname like 'tollgate\\_%'
       and t.typtype = 'c'`,
  );
  for (const { name } of types.rows as { name: string }[]) {
    await db.raw(`drop type if exists ${name} cascade`);
  }
  if (await db.schema.hasTable("installed_functions")) await db("installed_functions").delete();
}
