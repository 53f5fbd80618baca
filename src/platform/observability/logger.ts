import pino, { type DestinationStream, type Logger } from "pino";

/** Options of {@link createLogger}. */
export interface LoggerOptions {
  level: string;
  /** Where lines go; standard output when omitted. Tests pass a capture stream. */
  destination?: DestinationStream;
}

/**
 * Paths whose values never reach a log line. Credentials travel in headers and in a few
 * configuration fields; redacting by path keeps them out even when a whole object is logged.
 */
export const REDACTED_PATHS = [
  "authorization",
  "headers.authorization",
  "*.headers.authorization",
  "req.headers.authorization",
  "apiKey",
  "*.apiKey",
  "secret",
  "*.secret",
  "stripeSecretKey",
  "*.stripeSecretKey",
  "stripeWebhookSecret",
  "*.stripeWebhookSecret",
  "databaseUrl",
  "*.databaseUrl",
  "bootstrapAdminKey",
  "*.bootstrapAdminKey",
  "key",
  "*.key",
  'headers["stripe-signature"]',
  '*.headers["stripe-signature"]',
];

/** Creates the structured JSON logger every component logs through. */
export function createLogger(options: LoggerOptions): Logger {
  return pino(
    {
      level: options.level,
      base: { app: "tollgate" },
      redact: { paths: REDACTED_PATHS, censor: "[redacted]" },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    options.destination,
  );
}

export type { Logger };
