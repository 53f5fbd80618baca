import { once } from "node:events";
import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { Worker } from "node:worker_threads";
import { PGlite, types } from "@electric-sql/pglite";
import knex, { type Knex } from "knex";
import ClientPGLite from "knex-pglite";
import { type DataDirLock, lockDataDir } from "./data-dir-lock.js";
import { type Distribution, distribute, isDistributed } from "./distribution.js";
import { dropFunctions, type FunctionSet, installFunctions } from "./functions.js";
import { migrationSource } from "./migrations/index.js";

// An arbitrary constant that names Tollgate's migration lock among advisory locks.
const MIGRATION_LOCK_KEY = 7_406_511_042;

/** Options of {@link createDatabase}. */
export interface DatabaseOptions {
  /** A PostgreSQL connection string; when undefined, embedded PGlite in `dataDir` is used. */
  url: string | undefined;
  /** Where embedded PGlite keeps its files; created when missing. */
  dataDir: string;
  /** Most pooled connections to PostgreSQL (PGlite always has exactly one). */
  poolMax?: number;
  /** How long a query waits for a free pooled connection before failing as unavailable. */
  poolWaitMs?: number;
  /** How long one statement on the report pool may run before PostgreSQL cancels it. */
  reportStatementTimeoutMs?: number;
  /** The SQL functions `migrate` installs after the tables. */
  functions: FunctionSet;
}

/** Connections of the lookup pool: key checks and plan lookups are single short queries. */
const LOOKUP_POOL_MAX = 4;
/** Connections of the report pool: however many callers ask for reports, at most this many run. */
const REPORT_POOL_MAX = 4;

/** The data layer handle every store queries through. */
export interface Database {
  /** The main pool: admissions, transactions, flushes, everything that writes. */
  knex: Knex;
  /**
   * A small pool of its own for the lookups every call makes first (API keys, tenant plans),
   * so a burst of transactions holding every main connection cannot starve them. On PGlite
   * it is the same single connection as `knex`.
   */
  lookups: Knex;
  /**
   * A small pool of its own for reports whose cost the caller chooses (`GetUsage` over years),
   * each statement bounded by a statement timeout, so reads can neither hold the main pool's
   * connections nor run unbounded. On PGlite it is the same single connection as `knex`.
   */
  reports: Knex;
  /** Which back-end is in use; PGlite is single-connection, so callers may size work for it. */
  kind: "postgres" | "pglite";
  /**
   * Whether the database is distributed (the `citus` extension is installed): then every
   * statement must be routable to one tenant's node (`distribution.ts`).
   */
  distributed(): Promise<boolean>;
  /**
   * Brings the schema up to date, then installs the SQL functions (`functions.ts`) and, on a
   * distributed database, places new tables and functions (`distribution.ts`); safe when
   * several replicas start at once.
   */
  migrate(): Promise<string[]>;
  /** What the last `migrate` placed on a distributed database; undefined on one node. */
  lastDistribution(): Distribution | undefined;
  /**
   * Undoes the newest applied migration, or every one with `all`; returns what was undone,
   * newest first. Each migration's `down` leaves the schema its predecessor created. The SQL
   * functions are dropped first (they are written for the newest schema); the next start
   * installs them again.
   */
  rollback(all: boolean): Promise<string[]>;
  /** True when a trivial query succeeds within a second. */
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

/**
 * Opens the database. Both back-ends return `int8` and `numeric` as strings, so counts and
 * money never pass through a JS float: node-postgres does so by default, and PGlite is told to
 * with parser overrides.
 */
export async function createDatabase(options: DatabaseOptions): Promise<Database> {
  const kind = options.url === undefined ? "pglite" : "postgres";
  const pool = (max: number, statementTimeoutMs?: number) =>
    knex({
      client: "pg",
      connection: { connectionString: options.url, statement_timeout: statementTimeoutMs },
      pool: { min: 0, max },
      acquireConnectionTimeout: options.poolWaitMs ?? 3_000,
    });
  const embedded = options.url === undefined ? await openPglite(options.dataDir) : undefined;
  const instance = embedded?.knex ?? pool(options.poolMax ?? 10);
  const lookups = options.url === undefined ? instance : pool(LOOKUP_POOL_MAX);
  const reports =
    options.url === undefined
      ? instance
      : pool(REPORT_POOL_MAX, options.reportStatementTimeoutMs ?? 10_000);
  let distributed: Promise<boolean> | undefined;
  let placed: Distribution | undefined;
  return {
    knex: instance,
    lookups,
    reports,
    kind,
    distributed() {
      if (kind === "pglite") return Promise.resolve(false);
      distributed ??= isDistributed(lookups);
      return distributed;
    },
    lastDistribution: () => placed,
    async migrate() {
      const latest = async () => {
        const [, applied] = await instance.migrate.latest({ migrationSource });
        return applied as string[];
      };
      // PGlite has one connection and one process; nothing can race it.
      if (kind === "pglite") {
        const applied = await latest();
        await installFunctions(instance, options.functions);
        return applied;
      }
      // knex's own lock table is created by the migration run itself, so replicas starting on
      // an empty database race to create it. A transaction-scoped advisory lock held on a
      // separate connection serializes whole runs across replicas; it is taken from the lookup
      // pool, so the migrations have the whole main pool even when it has one connection.
      return lookups.transaction(async (trx) => {
        await trx.raw("select pg_advisory_xact_lock(?)", [MIGRATION_LOCK_KEY]);
        const applied = await latest();
        // The functions are installed under the same lock, after the tables they use, and
        // both are placed on a distributed database's nodes.
        await installFunctions(trx, options.functions);
        if (await isDistributed(trx)) placed = await distribute(trx);
        return applied;
      });
    },
    async rollback(all) {
      const undo = async () => {
        await dropFunctions(instance);
        const [, undone] = all
          ? await instance.migrate.rollback({ migrationSource }, true)
          : await instance.migrate.down({ migrationSource });
        return undone as string[];
      };
      if (kind === "pglite") return undo();
      // Keys that lack the tenant, as older migrations had them, cannot exist on shards.
      if (await isDistributed(lookups)) {
        throw new Error(
          "migrations cannot be undone on a distributed database (Citus): restore a backup, or undistribute the tables first",
        );
      }
      return lookups.transaction(async (trx) => {
        await trx.raw("select pg_advisory_xact_lock(?)", [MIGRATION_LOCK_KEY]);
        return undo();
      });
    },
    async ping() {
      try {
        // On the lookup pool: a replica whose main pool is busy is still healthy.
        await withTimeout(lookups.raw("select 1"), 1000);
        return true;
      } catch {
        return false;
      }
    },
    async close() {
      if (lookups !== instance) await lookups.destroy();
      if (reports !== instance) await reports.destroy();
      await instance.destroy();
      await embedded?.lock.release();
    },
  };
}

// Embedded use is development and small deployments: 16 MB of buffers instead of PostgreSQL's
// 128 MB keeps the idle process small, and the data set of such a deployment fits anyway.
const PGLITE_START_PARAMS = [...PGlite.defaultStartParams, "-c", "shared_buffers=16MB"];

/**
 * Opens the data directory for this process alone: the lock is taken before PGlite reads a
 * page, so a second server or a CLI beside a running server is refused instead of losing writes.
 */
async function openPglite(dataDir: string): Promise<{ knex: Knex; lock: DataDirLock }> {
  await mkdir(dataDir, { recursive: true });
  const lock = await lockDataDir(dataDir);
  try {
    await initPgliteDataDir(dataDir);
    const identity = (value: string) => value;
    const pglite = await PGlite.create(dataDir, {
      parsers: { [types.INT8]: identity, [types.NUMERIC]: identity },
      startParams: PGLITE_START_PARAMS,
    });
    return { knex: knex({ client: ClientPGLite, connection: { pglite } as never }), lock };
  } catch (error) {
    await lock.release();
    throw error;
  }
}

// Creating a data directory runs initdb, whose WASM instance and file bundle (about 450 MB)
// stay reachable for as long as the PGlite that ran it, and whose freed heap the allocator
// keeps even after that. Run in a worker thread that then exits, initdb gives it all back.
const INIT_IN_WORKER = `
const { workerData } = require("node:worker_threads");
import(workerData.pglite).then(async ({ PGlite }) => {
  const db = await PGlite.create(workerData.dataDir);
  await db.close();
});`;

async function initPgliteDataDir(dataDir: string): Promise<void> {
  if (existsSync(join(dataDir, "PG_VERSION"))) return;
  const worker = new Worker(INIT_IN_WORKER, {
    eval: true,
    workerData: { pglite: import.meta.resolve("@electric-sql/pglite"), dataDir },
  });
  // `once` rejects with the worker's error if initdb fails.
  const [code] = (await once(worker, "exit")) as [number];
  if (code !== 0) throw new Error(`initialising the PGlite data directory exited with ${code}`);
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error("timeout")), ms).unref()),
  ]);
}

// Node socket errors; SQLSTATE classes 08 (connection exception), 53 (insufficient resources:
// too many connections, out of memory, disk full) and 57P (operator intervention: shutdown,
// cannot connect now); and the two transaction failures that succeed when simply run again,
// 40001 (serialization failure) and 40P01 (deadlock detected).
const UNAVAILABLE_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EPIPE",
  "ENOTFOUND",
]);

/**
 * Whether an error means the database could not serve the query now (down, restarting, network
 * cut, out of connections or resources, pool wait exceeded, a transient conflict) rather than
 * that the query or its data was wrong. Such errors are retried by the batcher and by plan
 * lookups, and reach callers as `Unavailable` instead of `Internal`; anything else is blamed
 * on the input (a batch is bisected to find it).
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  if (
    typeof code === "string" &&
    (UNAVAILABLE_CODES.has(code) || /^(08|53|57P0|40001$|40P01$)/.test(code))
  ) {
    return true;
  }
  return (
    error.name === "KnexTimeoutError" ||
    /Connection terminated|connection is closed|Client has encountered a connection error/i.test(
      error.message,
    )
  );
}

/**
 * Whether an error is a unique violation of `constraint`. On a distributed database the index
 * is a shard's, named with the shard's number (`usage_events_pkey_102008`), and a COPY reports
 * the violation as an internal error (XX000) that names it only in its message.
 */
export function isUniqueViolation(error: unknown, constraint: string): boolean {
  const {
    code,
    constraint: name,
    message,
  } = error as {
    code?: unknown;
    constraint?: unknown;
    message?: unknown;
  };
  const violated =
    code === "23505"
      ? name
      : code === "XX000" && typeof message === "string"
        ? /^duplicate key value violates unique constraint "([^"]+)"$/.exec(message)?.[1]
        : undefined;
  if (typeof violated !== "string") return false;
  const shard = violated.slice(constraint.length + 1);
  return (
    violated === constraint ||
    (violated.startsWith(`${constraint}_`) && shard !== "" && /^\d+$/.test(shard))
  );
}
