import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { v7 as uuidv7 } from "uuid";
import { type UsageEvent, UsageEventSchema } from "../../gen/tollgate/v1/usage_service_pb.js";
import { type Quantity, toQuantityString } from "./quantity.js";
import type { TollgateClient } from "./tollgate-client.js";

/** Options of {@link UsageTracker}. */
export interface UsageTrackerOptions {
  /** Flush when this many events wait: `USAGE_TRACKER_BATCH_SIZE`, else 100. */
  batchSize?: number;
  /** Flush at least this often while started: `USAGE_TRACKER_FLUSH_INTERVAL`, else 30 s. */
  flushIntervalSeconds?: number;
  /** Most events held while the server cannot take them; 10,000 by default. */
  maxBufferSize?: number;
  /**
   * What `track()` does when the buffer is full: `"reject"` (default) throws
   * `UsageBufferFullError` and keeps what is buffered, so no usage is lost silently;
   * `"drop-oldest"` discards the oldest event (counted in `dropped`) to make room.
   */
  overflow?: "reject" | "drop-oldest";
  /** Called with every failed flush (the events stay buffered and are sent again later). */
  onError?: (error: unknown) => void;
}

/** What the tracker has done so far, as the seed's `get_stats()` reports it. */
export interface UsageTrackerStats {
  tracked: number;
  /** Events the server acknowledged (stored now, or already stored earlier). */
  flushed: number;
  /** Of those, events the server had already stored: retries it deduplicated. */
  duplicates: number;
  /** Events the server refused as invalid; they are not sent again. */
  rejected: number;
  /** Failed flush attempts. */
  errors: number;
  /** Events discarded by the `drop-oldest` overflow policy. */
  dropped: number;
  lastFlush: Date | undefined;
  bufferSize: number;
  running: boolean;
}

/** `track()` was refused because the buffer is full and the overflow policy is `reject`. */
export class UsageBufferFullError extends Error {
  override name = "UsageBufferFullError";
}

const EVENTS_PER_MESSAGE = 500;

/**
 * The seed's `UsageTracker`, client side: buffers usage events and sends them in batches over
 * `StreamUsage` (TrackUsage on gRPC-Web), when `batchSize` events wait, every
 * `flushIntervalSeconds` while started, on `flush()`, and on `stop()` or `await using` disposal.
 * Each event gets a UUIDv7 id when it is tracked and keeps it through retries, so a batch sent
 * again after a failure is deduplicated by the server: delivery is exactly once in storage.
 * A failed flush keeps its events buffered for the next one.
 *
 * A class rather than a factory, to keep the seed's shape: `new UsageTracker(…)`, `start()`,
 * `async with` as `await using`.
 */
export class UsageTracker implements AsyncDisposable {
  readonly batchSize: number;
  readonly flushIntervalSeconds: number;
  readonly maxBufferSize: number;
  #buffer: UsageEvent[] = [];
  #timer: NodeJS.Timeout | undefined;
  #flushing: Promise<unknown> = Promise.resolve();
  #stats = { tracked: 0, flushed: 0, duplicates: 0, rejected: 0, errors: 0, dropped: 0 };
  #lastFlush: Date | undefined;

  constructor(
    private readonly client: Pick<TollgateClient, "usage" | "protocol">,
    private readonly options: UsageTrackerOptions = {},
  ) {
    this.batchSize = options.batchSize ?? envNumber("USAGE_TRACKER_BATCH_SIZE") ?? 100;
    this.flushIntervalSeconds =
      options.flushIntervalSeconds ?? envNumber("USAGE_TRACKER_FLUSH_INTERVAL") ?? 30;
    this.maxBufferSize = options.maxBufferSize ?? 10_000;
  }

  /** Starts the periodic flush; returns the tracker for chaining. */
  start(): this {
    if (this.#timer === undefined) {
      this.#timer = setInterval(() => {
        this.flush().catch(() => undefined);
      }, this.flushIntervalSeconds * 1000);
      this.#timer.unref();
    }
    return this;
  }

  /** Stops the periodic flush and flushes what is buffered; throws if that flush fails. */
  async stop(): Promise<void> {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    await this.flush();
  }

  /** `await using tracker = new UsageTracker(…).start()` stops (and flushes) at scope exit. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }

  /** Buffers one event; flushes in the background once `batchSize` events wait. */
  async track(
    tenantId: string,
    resourceType: string,
    quantity: Quantity = 1,
    attributes: Record<string, string> = {},
  ): Promise<void> {
    if (this.#buffer.length >= this.maxBufferSize) {
      if (this.options.overflow !== "drop-oldest") {
        throw new UsageBufferFullError(
          `the usage buffer holds ${this.#buffer.length} events; the server is not taking them`,
        );
      }
      this.#buffer.shift();
      this.#stats.dropped++;
    }
    this.#buffer.push(
      create(UsageEventSchema, {
        eventId: uuidv7(),
        tenantId,
        resourceType,
        quantity: toQuantityString(quantity),
        occurTime: timestampFromDate(new Date()),
        attributes,
      }),
    );
    this.#stats.tracked++;
    if (this.#buffer.length >= this.batchSize) this.flush().catch(() => undefined);
  }

  /** One workflow or agent execution. */
  trackExecution(tenantId: string, options: { workflowId: string }): Promise<void> {
    return this.track(tenantId, "executions", 1, { workflow_id: options.workflowId });
  }

  /** LLM tokens used by one call to `model`. */
  trackTokens(tenantId: string, options: { tokens: Quantity; model: string }): Promise<void> {
    return this.track(tenantId, "tokens", options.tokens, { model: options.model });
  }

  /** One API request to `endpoint`. */
  trackApiCall(tenantId: string, options: { endpoint: string }): Promise<void> {
    return this.track(tenantId, "api_calls", 1, { endpoint: options.endpoint });
  }

  /** Storage allocated (negative to release), in megabytes. */
  trackStorage(tenantId: string, options: { sizeMb: Quantity }): Promise<void> {
    return this.track(tenantId, "storage_mb", options.sizeMb);
  }

  /**
   * Sends every buffered event and resolves with how many the server acknowledged. Flushes run
   * one at a time; a failed one throws, counts in `errors`, and leaves its events buffered.
   */
  flush(): Promise<number> {
    const run = this.#flushing.then(() => this.#send());
    this.#flushing = run.catch(() => undefined);
    return run;
  }

  /** Counters, last flush time, buffer size, and whether the periodic flush is running. */
  getStats(): UsageTrackerStats {
    return {
      ...this.#stats,
      lastFlush: this.#lastFlush,
      bufferSize: this.#buffer.length,
      running: this.#timer !== undefined,
    };
  }

  async #send(): Promise<number> {
    const batch = this.#buffer.slice();
    if (batch.length === 0) return 0;
    try {
      const summary = await this.#deliver(batch);
      const sent = new Set(batch);
      this.#buffer = this.#buffer.filter((event) => !sent.has(event));
      const acknowledged = Number(summary.acceptedCount + summary.duplicateCount);
      this.#stats.flushed += acknowledged;
      this.#stats.duplicates += Number(summary.duplicateCount);
      this.#stats.rejected += Number(summary.rejectedCount);
      this.#lastFlush = new Date();
      return acknowledged;
    } catch (error) {
      this.#stats.errors++;
      this.options.onError?.(error);
      throw error;
    }
  }

  async #deliver(batch: UsageEvent[]) {
    const messages = [];
    for (let i = 0; i < batch.length; i += EVENTS_PER_MESSAGE) {
      messages.push({ events: batch.slice(i, i + EVENTS_PER_MESSAGE) });
    }
    if (this.client.protocol !== "grpc-web") {
      return this.client.usage.streamUsage(
        (async function* () {
          yield* messages;
        })(),
      );
    }
    const total = { acceptedCount: 0n, duplicateCount: 0n, rejectedCount: 0n };
    for (const message of messages) {
      const summary = await this.client.usage.trackUsage(message);
      total.acceptedCount += summary.acceptedCount;
      total.duplicateCount += summary.duplicateCount;
      total.rejectedCount += summary.rejectedCount;
    }
    return total;
  }
}

function envNumber(name: string): number | undefined {
  const value = Number(process.env[name]);
  return Number.isFinite(value) && value > 0 ? value : undefined;
}
