import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DATABASE_FUNCTIONS } from "../src/app/database-functions.js";
import {
  createDatabase,
  type Database,
  isDatabaseUnavailable,
  isUniqueViolation,
} from "../src/platform/db/database.js";
import { migrationSource } from "../src/platform/db/migrations/index.js";
import { createTestDatabase, type TestDatabase } from "./support/database.js";

const BIG_INT8 = "9223372036854775807";
const EXACT_NUMERIC = "12345678901234567890.1234567890";
// One int8 literal, one numeric literal and a count(*), which is int8 as well.
const EXACTNESS_QUERY = `select ${BIG_INT8}::int8 as big, ${EXACT_NUMERIC}::numeric as exact, count(*) as n from (values (1),(2)) v(x)`;

describe("createDatabase", () => {
  describe("on PostgreSQL", () => {
    let testDb: TestDatabase;

    beforeAll(async () => {
      testDb = await createTestDatabase();
    });

    afterAll(async () => {
      await testDb?.drop();
    });

    it("should return int8 and numeric as exact strings", async () => {
      const db = await createDatabase({
        url: testDb.url,
        dataDir: "unused",
        functions: DATABASE_FUNCTIONS,
      });
      try {
        expect(db.kind).toBe("postgres");
        const { rows } = await db.knex.raw(EXACTNESS_QUERY);
        expect(rows[0]).toEqual({ big: BIG_INT8, exact: EXACT_NUMERIC, n: "2" });
      } finally {
        await db.close();
      }
    });

    it("should migrate once when several replicas start at the same time", async () => {
      // given three replicas starting together on one empty database
      const replicas = await Promise.all(
        [1, 2, 3].map(() =>
          createDatabase({ url: testDb.url, dataDir: "unused", functions: DATABASE_FUNCTIONS }),
        ),
      );
      try {
        // when all of them migrate at once
        const applied = await Promise.all(replicas.map((r) => r.migrate()));

        // then each migration ran exactly once and the schema is complete
        const all = await migrationSource.getMigrations([]);
        expect(applied.flat().sort()).toEqual(all);
        const [first, second] = replicas as [Database, Database, Database];
        const { rows } = await first.knex.raw("select count(*) as n from knex_migrations");
        expect(rows[0].n).toBe(String(all.length));
        expect(await first.knex.schema.hasTable("audit_events")).toBe(true);
        expect(await second.migrate()).toEqual([]);
      } finally {
        await Promise.all(replicas.map((r) => r.close()));
      }
    });

    it("should report a database that cannot be reached as down", async () => {
      const url = new URL(testDb.url);
      url.port = "1";
      const db = await createDatabase({
        url: url.toString(),
        dataDir: "unused",
        functions: DATABASE_FUNCTIONS,
      });
      try {
        expect(await db.ping()).toBe(false);
      } finally {
        await db.close();
      }
    });
  });

  describe("on embedded PGlite", () => {
    let dataDir: string;
    let db: Database | undefined;

    beforeAll(async () => {
      dataDir = await mkdtemp(join(tmpdir(), "tollgate-pglite-unit-"));
    });

    afterAll(async () => {
      await db?.close();
      await rm(dataDir, { recursive: true, force: true });
    });

    it("should return int8 and numeric as exact strings, like node-postgres", async () => {
      db = await createDatabase({ url: undefined, dataDir, functions: DATABASE_FUNCTIONS });
      expect(db.kind).toBe("pglite");
      const { rows } = await db.knex.raw(EXACTNESS_QUERY);
      expect(rows[0]).toEqual({ big: BIG_INT8, exact: EXACT_NUMERIC, n: "2" });
      await db.close();
      db = undefined;
    });

    it("should keep rows in its data directory across a reopen", async () => {
      const TENANT = "7b0c3f4e-8a2d-4c1e-9f6a-2d5e8b1c0a93";
      // given a migrated database with one audit row
      db = await createDatabase({ url: undefined, dataDir, functions: DATABASE_FUNCTIONS });
      expect(await db.migrate()).toEqual(await migrationSource.getMigrations([]));
      await db
        .knex("audit_events")
        .insert({ actor: "test", action: "persist.check", tenant_id: TENANT, target: "t1" });
      await db.close();

      // when it is opened again
      db = await createDatabase({ url: undefined, dataDir, functions: DATABASE_FUNCTIONS });

      // then the row and the schema version are still there
      expect(await db.migrate()).toEqual([]);
      const rows = await db.knex("audit_events").select("actor", "action", "target");
      expect(rows).toEqual([{ actor: "test", action: "persist.check", target: "t1" }]);
    });
  });
});

describe(isDatabaseUnavailable.name, () => {
  const pgError = (code: string) => Object.assign(new Error(`sqlstate ${code}`), { code });

  it("should call outages, exhaustion and transient conflicts unavailable, and data errors not", () => {
    const unavailable = ["08006", "53300", "53100", "57P01", "40001", "40P01", "ECONNREFUSED"];
    const wrong = ["22021", "22008", "22P05", "23505", "42P01", "40002", "54000"];
    expect(unavailable.map((code) => isDatabaseUnavailable(pgError(code)))).toEqual(
      unavailable.map(() => true),
    );
    expect(wrong.map((code) => isDatabaseUnavailable(pgError(code)))).toEqual(
      wrong.map(() => false),
    );
    expect(isDatabaseUnavailable(new Error("Connection terminated unexpectedly"))).toBe(true);
  });
});

describe(isUniqueViolation.name, () => {
  const error = (fields: Record<string, string>) => Object.assign(new Error("x"), fields);

  it("should know a constraint by its name, its shard's name, or a distributed COPY's message", () => {
    expect(
      isUniqueViolation(
        error({ code: "23505", constraint: "usage_events_pkey" }),
        "usage_events_pkey",
      ),
    ).toBe(true);
    expect(
      isUniqueViolation(
        error({ code: "23505", constraint: "usage_events_pkey_102008" }),
        "usage_events_pkey",
      ),
    ).toBe(true);
    const copied = error({ code: "XX000" });
    copied.message = 'duplicate key value violates unique constraint "usage_events_pkey_102525"';
    expect(isUniqueViolation(copied, "usage_events_pkey")).toBe(true);
    // and not another constraint, another shard-like suffix, or another error
    expect(
      isUniqueViolation(
        error({ code: "23505", constraint: "usage_events_other" }),
        "usage_events_pkey",
      ),
    ).toBe(false);
    expect(
      isUniqueViolation(
        error({ code: "23505", constraint: "usage_events_pkey_x1" }),
        "usage_events_pkey",
      ),
    ).toBe(false);
    expect(
      isUniqueViolation(
        error({ code: "23503", constraint: "usage_events_pkey" }),
        "usage_events_pkey",
      ),
    ).toBe(false);
  });
});
