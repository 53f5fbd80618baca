#!/usr/bin/env node
import { Command } from "commander";
import { ConfigError, loadConfig } from "../config/config.js";
import { createDatabase } from "../db/database.js";

/**
 * The operator's command line (`npx tollgate …`). It reads the same environment as the server,
 * so it always acts on the database the server would use.
 */
const program = new Command("tollgate").description("Tollgate operator commands");

program
  .command("migrate")
  .description("bring the database schema up to date, then exit")
  .action(async () => {
    const config = loadConfig();
    const database = await createDatabase({ url: config.databaseUrl, dataDir: config.dataDir });
    try {
      const applied = await database.migrate();
      process.stdout.write(
        applied.length ? `applied: ${applied.join(", ")}\n` : "schema already up to date\n",
      );
    } finally {
      await database.close();
    }
  });

program.parseAsync().catch((error: unknown) => {
  process.stderr.write(
    `tollgate: ${error instanceof ConfigError ? error.message : String(error)}\n`,
  );
  process.exit(error instanceof ConfigError ? 2 : 1);
});
