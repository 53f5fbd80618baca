import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DATABASE_FUNCTIONS } from "../src/app/database-functions.js";
import { createDatabase } from "../src/platform/db/database.js";
import { migrationSource } from "../src/platform/db/migrations/index.js";
import { queryRows, startTestApp, tableNames } from "./support/app.js";
import { runCli } from "./support/cli.js";
import { grpcTransport, tollgateClients } from "./support/clients.js";
import { createTestDatabase, type TestDatabase } from "./support/database.js";

/** Uses every table: a subscriber with admissions, a reservation, usage, a grant and a webhook. */
async function populate(url: string): Promise<string> {
  const app = await startTestApp(url);
  try {
    const { billing, entitlements, usage, events } = tollgateClients(grpcTransport(app.baseUrl));
    const tenantId = randomUUID();
    const { customer } = await billing.createCustomer({ tenantId, email: "m@example.com" });
    await billing.createSubscription({ customerId: customer!.id, priceId: "price_pro_monthly" });
    await entitlements.checkAndRecord({
      tenantId,
      resourceType: "executions",
      idempotencyKey: "k1",
    });
    await entitlements.reserve({ tenantId, resourceType: "executions", quantity: "2" });
    await entitlements.grantCredits({ tenantId, resourceType: "executions", quantity: "10" });
    await usage.trackUsage({
      events: [{ eventId: "e1", tenantId, resourceType: "tokens", quantity: "5" }],
    });
    await events.createWebhookEndpoint({
      url: "http://127.0.0.1:9/hooks",
      types: ["entitlement.denied"],
    });
    return tenantId;
  } finally {
    await app.stop();
  }
}

/** Applies the next migration only, as knex's `migrate.up` does; returns its name. */
async function upOneStep(url: string): Promise<string | undefined> {
  const database = await createDatabase({ url, dataDir: "", functions: DATABASE_FUNCTIONS });
  try {
    const [, log] = await database.knex.migrate.up({ migrationSource });
    return (log as string[])[0];
  } finally {
    await database.close();
  }
}

/** The Tollgate functions the database holds, by name. */
async function tollgateFunctions(url: string): Promise<string[]> {
  const rows = await queryRows<{ name: string }>(
    url,
    "select distinct proname as name from pg_proc where proname like 'tollgate\\_%' order by 1",
  );
  return rows.map((r) => r.name);
}

async function applied(url: string): Promise<string[]> {
  const rows = await queryRows<{ name: string }>(
    url,
    "select name from knex_migrations order by id",
  );
  return rows.map((r) => r.name);
}

describe("migrations: every step rolls back to a working schema", () => {
  let db: TestDatabase;
  let names: string[];

  beforeAll(async () => {
    db = await createTestDatabase();
    names = await migrationSource.getMigrations([]);
    await populate(db.url);
  });
  afterAll(async () => {
    await db?.drop();
  });

  it("should go down, up and down again one step at a time on a populated database, then up to a working server", async () => {
    for (let step = names.length - 1; step >= 0; step--) {
      const name = names[step] as string;
      // down: exactly the newest migration is undone
      expect(await runCli(db.url, ["migrate", "down"])).toBe(`undone: ${name}\n`);
      expect(await applied(db.url)).toEqual(names.slice(0, step));
      if (step === names.length - 1) {
        // the SQL functions are written for the newest schema: the first step down drops
        // them, and the next start installs them again (below)
        expect(await tollgateFunctions(db.url)).toEqual([]);
      }
      // up again, this one step only, over the rows the down left; then down once more
      expect(await upOneStep(db.url)).toBe(name);
      expect(await runCli(db.url, ["migrate", "down"])).toBe(`undone: ${name}\n`);
    }
    expect(await runCli(db.url, ["migrate", "down"])).toBe("no migration to undo\n");
    const left = (await tableNames(db.url)).filter((t) => !t.startsWith("knex_"));
    expect(left).toEqual([]);

    // and the whole schema comes back, with its functions, and serves
    await populate(db.url);
    expect(await tollgateFunctions(db.url)).toContain("tollgate_admit");
  });

  it("should roll up the usage events stored before rollups existed, with every attribute", async () => {
    // given a database migrated up to the step before meters, holding two tokens events
    const fresh = await createTestDatabase();
    try {
      let step: string | undefined;
      do step = await upOneStep(fresh.url);
      while (step !== "0012_tenant_keys");
      const tenantId = randomUUID();
      await queryRows(
        fresh.url,
        `insert into usage_events
           (tenant_id, event_id, resource_type, quantity, occur_time, attributes, period_start)
         values ($1, 'a', 'tokens', 5, '2026-03-01T10:01:00Z', '{"model":"m","user":"u1"}', '2026-03-01'),
           ($1, 'b', 'tokens', 7, '2026-03-01T10:14:00Z', '{"model":"m","user":"u1"}', '2026-03-01')`,
        [tenantId],
      );

      // when meters' migration runs
      expect(await upOneStep(fresh.url)).toBe("0013_meters");

      // then both are one rollup row of their quarter hour, every attribute kept
      expect(
        await queryRows(
          fresh.url,
          `select bucket_start::text, attributes, quantity::text, events::text, max::text,
             latest::text, latest_key, kept from usage_rollups where tenant_id = $1`,
          [tenantId],
        ),
      ).toEqual([
        {
          bucket_start: "2026-03-01 10:00:00+00",
          attributes: { model: "m", user: "u1" },
          quantity: "12",
          events: "2",
          max: "7",
          latest: "7",
          latest_key: "b",
          kept: null,
        },
      ]);
    } finally {
      await fresh.drop();
    }
  });

  it("should undo every migration at once with --all", async () => {
    await runCli(db.url, ["migrate"]);
    expect(await runCli(db.url, ["migrate", "down", "--all"])).toBe(
      `undone: ${[...names].reverse().join(", ")}\n`,
    );
    expect((await tableNames(db.url)).filter((t) => !t.startsWith("knex_"))).toEqual([]);
  });
});
