import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { v7 as uuidv7 } from "uuid";
import {
  type StreamUsageResponse,
  type UsageEvent,
  UsageEventSchema,
} from "./gen/tollgate/v1/usage_service_pb.js";
import { type Quantity, toQuantityString } from "./quantity.js";
import type { TollgateClient } from "./tollgate-client.js";

/** Options of {@link UsageTracker}. Every option may be left out or `undefined`. */
export interface UsageTrackerOptions {
  /**
   * Send when this many events wait: `TOLLGATE_TRACKER_BATCH_SIZE`, else the quick
   * reference's `USAGE_TRACKER_BATCH_SIZE` (it means the same), else 100.
   */
  batchSize?: number | undefined;
  /**
   * Send at least this often while started: `TOLLGATE_TRACKER_FLUSH_INTERVAL_SECONDS`, else
   * 30 s. (`USAGE_TRACKER_FLUSH_INTERVAL` is the server's batcher interval, so it is not read.)
   */
  flushIntervalSeconds?: number | undefined;
  /** Most events held unsent; 10,000 by default. */
  maxBufferSize?: number | undefined;
  /**
   * What `track()` does when `maxBufferSize` events wait: `"wait"` (default) for room, which
   * is backpressure; `"reject"` throws `UsageBufferFullError`; `"drop-oldest"` discards the
   * oldest waiting event (counted in `dropped`).
   */
  overflow?: "wait" | "reject" | "drop-oldest" | undefined;
  /**
   * Called with every failed send (its events stay buffered and go again with the same ids)
   * and with a {@link UsageRejectedError} for every event the server refused.
   */
  onError?: ((error: unknown) => void) | undefined;
}

/** What the tracker has done since it was made, as the seed's `get_stats()` reports it. */
export interface UsageTrackerStats {
  tracked: number;
  /** Events the server acknowledged (stored now, or already stored earlier). */
  flushed: number;
  /** Of those, events the server had already stored: retries it deduplicated. */
  duplicates: number;
  /** Events the server refused as invalid; reported to `onError`, not sent again. */
  rejected: number;
  /** Failed send attempts. */
  errors: number;
  /** Events discarded by the `drop-oldest` overflow policy. */
  dropped: number;
  lastFlush: Date | undefined;
  /** Events not yet acknowledged, in flight included. */
  bufferSize: number;
  running: boolean;
}

/** `track()` was refused because the buffer is full and the overflow policy is `reject`. */
export class UsageBufferFullError extends Error {
  override name = "UsageBufferFullError";
}

/** The server refused one event (an unknown resource, a bad quantity); it is not sent again. */
export class UsageRejectedError extends Error {
  override name = "UsageRejectedError";
  constructor(
    readonly eventId: string,
    readonly reason: string,
  ) {
    super(`usage event ${eventId} was rejected: ${reason}`);
  }
}

/** What the server said about one send, over StreamUsage or a series of TrackUsage calls. */
type DeliverySummary = Pick<
  StreamUsageResponse,
  "acceptedCount" | "duplicateCount" | "rejectedCount" | "rejectedEvents"
>;

const EVENTS_PER_MESSAGE = 500;
// One send carries at most this many events, so a backlog drains in bounded steps.
const EVENTS_PER_SEND = 5_000;
const MAX_BACKOFF_MS = 5_000;

/**
 * The seed's `UsageTracker`, client side: buffers usage events and sends them over
 * `StreamUsage` (TrackUsage on gRPC-Web) when `batchSize` events wait, every
 * `flushIntervalSeconds` while started, on `flush()`, and on `stop()` or `await using`
 * disposal. One send runs at a time, in the background; `track()` never queues a send of its
 * own. Each event gets a UUIDv7 id and its time when tracked and keeps them through retries,
 * so a batch sent again after a failure is deduplicated by the server: exactly once in
 * storage, in the period the usage happened in.
 *
 * A class rather than a factory, to keep the seed's shape: `new UsageTracker(…)`, `start()`,
 * `async with` as `await using`.
 */
export class UsageTracker implements AsyncDisposable {
  readonly batchSize: number;
  readonly flushIntervalSeconds: number;
  readonly maxBufferSize: number;
  #buffer: UsageEvent[] = [];
  #inFlight = 0;
  #timer: NodeJS.Timeout | undefined;
  #sending: Promise<unknown> = Promise.resolve();
  #pumping = false;
  #roomWaiters: (() => void)[] = [];
  #acknowledged = 0;
  #stats = { tracked: 0, flushed: 0, duplicates: 0, rejected: 0, errors: 0, dropped: 0 };
  #lastFlush: Date | undefined;

  constructor(
    private readonly client: Pick<TollgateClient, "usage" | "protocol">,
    private readonly options: UsageTrackerOptions = {},
  ) {
    this.batchSize =
      options.batchSize ??
      envNumber("TOLLGATE_TRACKER_BATCH_SIZE") ??
      envNumber("USAGE_TRACKER_BATCH_SIZE") ??
      100;
    this.flushIntervalSeconds =
      options.flushIntervalSeconds ?? envNumber("TOLLGATE_TRACKER_FLUSH_INTERVAL_SECONDS") ?? 30;
    this.maxBufferSize = options.maxBufferSize ?? 10_000;
    if (!(this.batchSize > 0 && this.flushIntervalSeconds > 0 && this.maxBufferSize > 0)) {
      throw new RangeError("batchSize, flushIntervalSeconds and maxBufferSize must be positive");
    }
  }

  /** Starts the periodic flush; returns the tracker for chaining. */
  start(): this {
    if (this.#timer === undefined) {
      this.#timer = setInterval(() => this.#kick(), this.flushIntervalSeconds * 1000);
      this.#timer.unref();
    }
    return this;
  }

  /**
   * Stops the periodic flush and sends what is buffered; resolves with the events
   * acknowledged since the last `flush()` or `stop()`, and throws if that send fails.
   */
  async stop(): Promise<number> {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    return this.flush();
  }

  /** `await using tracker = new UsageTracker(…).start()` stops (and flushes) at scope exit. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }

  /** Buffers one event, waiting for room when the buffer is full (see `overflow`). */
  async track(
    tenantId: string,
    resourceType: string,
    quantity: Quantity = 1,
    attributes: Record<string, string> = {},
  ): Promise<void> {
    const event = create(UsageEventSchema, {
      eventId: uuidv7(),
      tenantId,
      resourceType,
      quantity: toQuantityString(quantity),
      occurTime: timestampFromDate(new Date()),
      attributes,
    });
    if (this.#size() >= this.maxBufferSize) await this.#makeRoom();
    this.#buffer.push(event);
    this.#stats.tracked++;
    if (this.#buffer.length >= this.batchSize) this.#kick();
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
   * Sends every buffered event and resolves with how many the server acknowledged since the
   * last `flush()` or `stop()` (background sends included); `getStats()` keeps the totals. A
   * failed send throws, counts in `errors`, and leaves its events buffered.
   */
  async flush(): Promise<number> {
    await this.#serially(async () => {
      while (this.#buffer.length > 0) await this.#sendOnce();
    });
    const acknowledged = this.#acknowledged;
    this.#acknowledged = 0;
    return acknowledged;
  }

  /** Totals since the tracker was made, the last flush time, and what waits now. */
  getStats(): UsageTrackerStats {
    return {
      ...this.#stats,
      lastFlush: this.#lastFlush,
      bufferSize: this.#size(),
      running: this.#timer !== undefined,
    };
  }

  #size(): number {
    return this.#buffer.length + this.#inFlight;
  }

  async #makeRoom(): Promise<void> {
    const overflow = this.options.overflow ?? "wait";
    if (overflow === "reject") {
      throw new UsageBufferFullError(
        `${this.#size()} usage events wait to be sent (maxBufferSize); the server has not taken them yet`,
      );
    }
    if (overflow === "drop-oldest" && this.#buffer.length > 0) {
      this.#buffer.shift();
      this.#stats.dropped++;
      return;
    }
    while (this.#size() >= this.maxBufferSize) {
      this.#kick();
      await new Promise<void>((resolve) => this.#roomWaiters.push(resolve));
    }
  }

  // One background sender at a time, never one per event.
  #kick(): void {
    if (this.#pumping || this.#buffer.length === 0) return;
    this.#pumping = true;
    void this.#drain().finally(() => {
      this.#pumping = false;
    });
  }

  async #drain(): Promise<void> {
    for (let failures = 0; this.#buffer.length > 0; ) {
      try {
        await this.#serially(() => (this.#buffer.length > 0 ? this.#sendOnce() : undefined));
        failures = 0;
      } catch {
        failures++;
        // Nobody waits for room: the next batch or tick tries again.
        if (this.#roomWaiters.length === 0) return;
        await new Promise((resolve) =>
          setTimeout(resolve, Math.min(100 * 2 ** failures, MAX_BACKOFF_MS)),
        );
      }
    }
  }

  #serially<T>(work: () => Promise<T> | T): Promise<T> {
    const run = this.#sending.then(work);
    this.#sending = run.catch(() => undefined);
    return run;
  }

  async #sendOnce(): Promise<void> {
    const batch = this.#buffer.splice(0, EVENTS_PER_SEND);
    this.#inFlight = batch.length;
    let summary: DeliverySummary;
    try {
      summary = await this.#deliver(batch);
    } catch (error) {
      // Back to the front, in order, to go again with the same ids.
      this.#buffer.unshift(...batch);
      this.#inFlight = 0;
      this.#stats.errors++;
      this.options.onError?.(error);
      throw error;
    }
    this.#inFlight = 0;
    const acknowledged = Number(summary.acceptedCount + summary.duplicateCount);
    this.#stats.flushed += acknowledged;
    this.#stats.duplicates += Number(summary.duplicateCount);
    this.#stats.rejected += Number(summary.rejectedCount);
    this.#acknowledged += acknowledged;
    this.#lastFlush = new Date();
    for (const rejected of summary.rejectedEvents) {
      const eventId = rejected.eventId || (batch[rejected.eventIndex]?.eventId ?? "");
      this.options.onError?.(new UsageRejectedError(eventId, rejected.reason));
    }
    for (const wake of this.#roomWaiters.splice(0)) wake();
  }

  async #deliver(batch: UsageEvent[]): Promise<DeliverySummary> {
    const messages: { events: UsageEvent[] }[] = [];
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
    const total: DeliverySummary = {
      acceptedCount: 0n,
      duplicateCount: 0n,
      rejectedCount: 0n,
      rejectedEvents: [],
    };
    for (const [index, message] of messages.entries()) {
      const summary = await this.client.usage.trackUsage(message);
      total.acceptedCount += summary.acceptedCount;
      total.duplicateCount += summary.duplicateCount;
      total.rejectedCount += summary.rejectedCount;
      for (const rejected of summary.rejectedEvents) {
        total.rejectedEvents.push({
          ...rejected,
          eventIndex: rejected.eventIndex + index * EVENTS_PER_MESSAGE,
        });
      }
    }
    return total;
  }
}

function envNumber(name: string): number | undefined {
  const value = Number(process.env[name]);
  return Number.isFinite(value) && value > 0 ? value : undefined;
}
