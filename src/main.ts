import { startApp } from "./app/app.js";
import { ConfigError, loadConfig } from "./platform/config/config.js";
import { DataDirBusyError } from "./platform/db/data-dir-lock.js";
import { createLogger } from "./platform/observability/logger.js";

/**
 * The server process: validate configuration, start, and drain on SIGTERM/SIGINT. A second
 * signal exits at once, for an operator who will not wait for the grace period.
 */
async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger({ level: config.logLevel });
  // Secrets in the configuration (database URL, Stripe keys, bootstrap key) are redacted.
  logger.debug({ config }, "configuration");
  const app = await startApp(config, logger);
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      logger.warn({ signal }, "second signal; exiting now");
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal }, "signal received; draining");
    app.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);
}

// Configuration problems (environment or plan catalog) exit with 2, anything else with 1.
main().catch((error: unknown) => {
  if (error instanceof ConfigError) {
    process.stderr.write(`tollgate: ${error.message}\n`);
    process.exit(2);
  }
  const reason = error instanceof DataDirBusyError ? error.message : String(error);
  process.stderr.write(`tollgate: failed to start: ${reason}\n`);
  process.exit(1);
});
