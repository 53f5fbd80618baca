#!/usr/bin/env node
import { userInfo } from "node:os";
import { Command } from "commander";
import { createAuditStore } from "../audit/store.js";
import { type ApiKeyService, createApiKeyService } from "../auth/service.js";
import { createApiKeyStore } from "../auth/store.js";
import { readCatalogData } from "../catalog/catalog.js";
import { formatCatalogChanges } from "../catalog/diff.js";
import { type CatalogService, createCatalogService } from "../plans/catalog-service.js";
import { createCatalogStore } from "../plans/store.js";
import { createSystemClock } from "../platform/clock/clock.js";
import { ConfigError, loadConfig } from "../platform/config/config.js";
import { DataDirBusyError } from "../platform/db/data-dir-lock.js";
import { createDatabase, type Database } from "../platform/db/database.js";
import { DomainError } from "../platform/errors/domain-error.js";
import { DATABASE_FUNCTIONS } from "./database-functions.js";

/**
 * The operator's command line (`npx tollgate …`). It reads the same environment as the server,
 * so it always acts on the database the server would use.
 */
const program = new Command("tollgate")
  .description("Tollgate operator commands")
  .option(
    "--url <postgres-url>",
    "the PostgreSQL database to act on (default: DATABASE_URL; unset: the embedded data directory)",
  );

const migrate = program
  .command("migrate")
  .description("bring the database schema up to date, then exit")
  .action(() =>
    withDatabase(async (database) => {
      const applied = await database.migrate();
      process.stdout.write(
        applied.length ? `applied: ${applied.join(", ")}\n` : "schema already up to date\n",
      );
      const placed = database.lastDistribution();
      if (placed !== undefined) {
        process.stdout.write(
          `distributed database (Citus): placed ${placed.distributed.length} tenant tables, ${placed.reference.length} reference tables and ${placed.functions.length} functions now\n`,
        );
      }
    }),
  );

migrate
  .command("down")
  .description("undo the newest migration (stop every server first); --all undoes them all")
  .option("--all", "undo every migration, leaving an empty schema", false)
  .action((options: { all: boolean }) =>
    withDatabase(async (database) => {
      const undone = await database.rollback(options.all);
      process.stdout.write(
        undone.length ? `undone: ${undone.join(", ")}\n` : "no migration to undo\n",
      );
    }),
  );

const keys = program.command("keys").description("manage API keys");

keys
  .command("create")
  .description("create an admin key, or a tenant key with --tenant; prints the secret once")
  .option("--tenant <uuid>", "limit the key to reading and recording for this tenant")
  .option("--description <text>", "what the key is for", "")
  .action((options: { tenant?: string; description: string }) =>
    withKeys(async (service) => {
      const { key, apiKey } = await service.create(operator(), {
        tenantId: options.tenant,
        description: options.description,
      });
      process.stdout.write(
        `${key}\n\nprefix: ${apiKey.prefix}\nrole:   ${apiKey.role}${
          apiKey.tenantId ? `\ntenant: ${apiKey.tenantId}` : ""
        }\nThis is the only time the key is shown; store it now. Send it as \`authorization: Bearer <key>\`.\n`,
      );
    }),
  );

keys
  .command("list")
  .description("list keys by prefix (secrets are never stored)")
  .action(() =>
    withKeys(async (service) => {
      const rows = (await service.list()).map((k) =>
        [
          k.prefix,
          k.role.padEnd(6),
          (k.tenantId ?? "-").padEnd(36),
          k.createTime.toISOString(),
          k.revokeTime ? `revoked ${k.revokeTime.toISOString()}` : "active",
          k.description,
        ].join("  "),
      );
      process.stdout.write(rows.length ? `${rows.join("\n")}\n` : "no keys\n");
    }),
  );

keys
  .command("revoke <prefix>")
  .description("revoke a key at once; it cannot be restored")
  .action((prefix: string) =>
    withKeys(async (service) => {
      const revoked = await service.revoke(operator(), prefix);
      process.stdout.write(`revoked ${revoked.prefix}\n`);
    }),
  );

const catalog = program
  .command("catalog")
  .description("the plan catalog: what a file would change, and pushing it as a new version");

catalog
  .command("diff <file>")
  .description("print what FILE (JSON or YAML) would change against the catalog in force")
  .action((file: string) =>
    withCatalog(async (service) => {
      const plan = await service.diff(await readCatalogData(file, file), file);
      process.stdout.write(formatCatalogChanges(plan.changes, plan.planVersions));
    }),
  );

catalog
  .command("push <file>")
  .description(
    "validate FILE and store it as the next catalog version; every replica takes it within seconds",
  )
  .action((file: string) =>
    withCatalog(async (service) => {
      const plan = await service.push(await readCatalogData(file, file), file, operator());
      process.stdout.write(formatCatalogChanges(plan.changes, plan.planVersions));
      process.stdout.write(
        plan.changes.length === 0
          ? `catalog version ${plan.version} stays in force\n`
          : `stored catalog version ${plan.version}\n`,
      );
    }),
  );

program.parseAsync().catch((error: unknown) => {
  const known =
    error instanceof ConfigError ||
    error instanceof DomainError ||
    error instanceof DataDirBusyError;
  const message = known ? error.message : String(error);
  process.stderr.write(`tollgate: ${message}\n`);
  process.exit(error instanceof ConfigError ? 2 : 1);
});

async function withDatabase(work: (database: Database) => Promise<void>): Promise<void> {
  // --url is checked as DATABASE_URL is. Without either, the embedded data directory is
  // locked while open: beside a running server this refuses with DataDirBusyError instead
  // of writing where the server would never see it.
  const { url } = program.opts<{ url?: string }>();
  const config = loadConfig(
    url === undefined ? process.env : { ...process.env, DATABASE_URL: url },
  );
  const database = await createDatabase({
    url: config.databaseUrl,
    dataDir: config.dataDir,
    functions: DATABASE_FUNCTIONS,
  });
  try {
    await work(database);
  } finally {
    await database.close();
  }
}

function withKeys(work: (service: ApiKeyService) => Promise<void>): Promise<void> {
  return withDatabase(async (database) => {
    await database.migrate();
    const service = createApiKeyService({
      store: createApiKeyStore(database.knex),
      audit: createAuditStore(database.knex),
      clock: createSystemClock(),
    });
    await work(service);
  });
}

function withCatalog(work: (service: CatalogService) => Promise<void>): Promise<void> {
  return withDatabase(async (database) => {
    await database.migrate();
    await work(
      createCatalogService({
        store: createCatalogStore(database.knex),
        audit: createAuditStore(database.knex),
        clock: createSystemClock(),
      }),
    );
  });
}

// Key changes made from the command line are audited as the operating-system user.
function operator(): string {
  return `cli:${userInfo().username}`;
}
