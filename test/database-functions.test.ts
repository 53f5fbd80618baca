import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DATABASE_FUNCTIONS } from "../src/app/database-functions.js";
import { createDatabase, type Database } from "../src/platform/db/database.js";
import { installFunctions } from "../src/platform/db/functions.js";
import { createMigratedDatabase, type TestDatabase } from "./support/database.js";

/*
 * The function installer against PostgreSQL: it installs its set once, leaves a newer
 * release's set alone, and replaces a set of its own version whose contents differ.
 */
describe("installFunctions", () => {
  let testDb: TestDatabase;
  let db: Database;

  beforeAll(async () => {
    testDb = await createMigratedDatabase();
    db = await createDatabase({
      url: testDb.url,
      dataDir: "unused",
      functions: DATABASE_FUNCTIONS,
    });
  });
  afterAll(async () => {
    await db?.close();
    await testDb?.drop();
  });

  const installed = () => db.knex("installed_functions").first("version", "hash");
  const admitBody = async () =>
    (await db.knex.raw("select prosrc from pg_proc where proname = 'tollgate_admit_simple'"))
      .rows[0]?.prosrc as string | undefined;

  it("should find its own set current after the migration installed it", async () => {
    expect(await installed()).toMatchObject({ version: DATABASE_FUNCTIONS.version });
    expect(await installFunctions(db.knex, DATABASE_FUNCTIONS)).toBe("current");
  });

  it("should leave a newer release's set alone", async () => {
    // given a replica of a newer release installed its set
    await db.knex("installed_functions").update({ version: DATABASE_FUNCTIONS.version + 1 });
    await db.knex.raw(
      "create or replace function tollgate_admit_simple_marker() returns int language sql as 'select 1'",
    );

    // when this replica starts
    const outcome = await installFunctions(db.knex, DATABASE_FUNCTIONS);

    // then it changes nothing
    expect(outcome).toBe("newer");
    expect(await installed()).toMatchObject({ version: DATABASE_FUNCTIONS.version + 1 });
    expect(
      (await db.knex.raw("select 1 from pg_proc where proname = 'tollgate_admit_simple_marker'"))
        .rows,
    ).toHaveLength(1);
  });

  it("should replace a set of its own version whose contents differ, dropping what it lacks", async () => {
    // given the database holds this version with other contents
    await db
      .knex("installed_functions")
      .update({ version: DATABASE_FUNCTIONS.version, hash: "edited" });
    const before = await admitBody();
    const typeOid = async () =>
      (await db.knex.raw("select 'tollgate_admission_op'::regtype::oid as oid")).rows[0]?.oid;
    const oidBefore = await typeOid();

    // when this replica starts
    expect(await installFunctions(db.knex, DATABASE_FUNCTIONS)).toBe("installed");

    // then its own set is back, and the function it does not ship is gone
    expect(await installed()).toMatchObject({ version: DATABASE_FUNCTIONS.version });
    expect((await installed())?.hash).not.toBe("edited");
    expect(await admitBody()).toBe(before);
    // and a wire type whose declaration is unchanged is the same type (prepared statements
    // of other replicas name it by OID)
    expect(await typeOid()).toBe(oidBefore);
    expect(
      (await db.knex.raw("select 1 from pg_proc where proname = 'tollgate_admit_simple_marker'"))
        .rows,
    ).toHaveLength(0);
    expect(await installFunctions(db.knex, DATABASE_FUNCTIONS)).toBe("current");
  });
});
