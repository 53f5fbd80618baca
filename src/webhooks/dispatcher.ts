import { Webhook } from "standardwebhooks";
import { fetch } from "undici";
import type { EventWakeup } from "../events/wakeup.js";
import { createEventWakeup } from "../events/wakeup.js";
import type { Logger } from "../platform/observability/logger.js";
import {
  createDestinationAgent,
  type DestinationPolicy,
  destinationProblem,
} from "./address-guard.js";
import type { AttemptOutcome, WebhookStore } from "./store.js";
import type { ClaimedDelivery } from "./webhooks.js";

/** Sends due deliveries in the background. */
export interface WebhookDispatcher {
  /** Stops claiming, aborts attempts in flight and gives their deliveries back. */
  stop(): Promise<void>;
  /** Totals since start: succeeded, retried (failed, to be tried again), failed (given up). */
  stats(): { succeeded: number; retried: number; failed: number; in_flight: number };
}

/** Options of {@link startWebhookDispatcher}. */
export interface WebhookDispatcherOptions {
  store: WebhookStore;
  wakeup: EventWakeup;
  logger: Logger;
  /** Delay before each attempt: the first (normally 0), then after each failure. */
  scheduleMs: readonly number[];
  /** How long a receiver may take to answer. */
  timeoutMs: number;
  /** Attempts in flight at once, per replica. */
  concurrency: number;
  /** How long the dispatcher sleeps without a notification. */
  pollMs: number;
  policy: DestinationPolicy;
}

/** A lease outlives the attempt's timeout by this much before another replica may retry it. */
const LEASE_MARGIN_MS = 5_000;
/** What an attempt records when the destination was refused or could not be reached. */
const UNREACHABLE =
  "could not reach the receiver (refused by the destination policy, or unreachable)";
/** The longest `Retry-After` honoured. */
const MAX_RETRY_AFTER_MS = 24 * 3_600_000;

/**
 * Starts delivering the webhook outbox. Deliveries are claimed with `skip locked` under a
 * lease that outlives the attempt's timeout, so replicas never make the same attempt twice,
 * and a replica that dies mid-attempt leaves it to be made again once the lease lapses. Each
 * attempt is signed afresh per Standard Webhooks (`webhook-id` is the event id on every
 * attempt). Attempts run in the background with bounded concurrency and a timeout, so a
 * receiver that hangs holds a slot, never an API call. 2xx ends a delivery; 410 ends it and
 * disables the endpoint; anything else is retried on the schedule (with ±10 % jitter), or at
 * the receiver's `Retry-After` on 429 and 503, until the schedule runs out.
 */
export function startWebhookDispatcher(options: WebhookDispatcherOptions): WebhookDispatcher {
  const { store, wakeup, logger, scheduleMs, timeoutMs, concurrency, pollMs, policy } = options;
  const stopping = new AbortController();
  const slotFreed = createEventWakeup();
  const inFlight = new Set<Promise<void>>();
  const totals = { succeeded: 0, retried: 0, failed: 0 };
  const agent = createDestinationAgent(policy);

  const outcomeOf = (
    delivery: ClaimedDelivery,
    started: number,
    status: number | undefined,
    error: string,
    retryAfter: string | null,
  ): AttemptOutcome => {
    const attempt = {
      attempt: delivery.attempt,
      statusCode: status,
      error,
      durationMs: Date.now() - started,
      createTime: new Date(started),
    };
    if (status !== undefined && status >= 200 && status < 300) {
      return { attempt, state: "succeeded", retryInMs: undefined, disableReason: undefined };
    }
    if (status === 410) {
      return {
        attempt,
        state: "failed",
        retryInMs: undefined,
        disableReason: "the receiver answered 410 Gone",
      };
    }
    const next = scheduleMs[delivery.attempt];
    if (next === undefined) {
      return { attempt, state: "failed", retryInMs: undefined, disableReason: undefined };
    }
    const asked = status === 429 || status === 503 ? retryAfterMs(retryAfter) : undefined;
    const retryInMs =
      asked === undefined
        ? Math.round(next * (0.9 + Math.random() * 0.2))
        : Math.min(asked, MAX_RETRY_AFTER_MS);
    return { attempt, state: "pending", retryInMs, disableReason: undefined };
  };

  const send = async (delivery: ClaimedDelivery) => {
    const started = Date.now();
    let status: number | undefined;
    let error = "";
    let retryAfter: string | null = null;
    const problem = await destinationProblem(delivery.url, policy);
    if (problem !== undefined) {
      // Which address a name resolved to, or that a port is closed, is the deployment's
      // business, not the endpoint owner's: attempts say only that it was not reachable.
      logger.warn({ delivery: delivery.id, problem }, "webhook destination refused");
      error = UNREACHABLE;
    } else {
      const payload = JSON.stringify({
        type: delivery.eventType,
        timestamp: delivery.eventTime.toISOString(),
        data: delivery.data,
      });
      const signedAt = new Date();
      const signature = delivery.secrets
        .map((secret) => new Webhook(secret).sign(delivery.eventId, signedAt, payload))
        .join(" ");
      try {
        const response = await fetch(delivery.url, {
          dispatcher: agent,
          method: "POST",
          headers: {
            "content-type": "application/json",
            "user-agent": "Tollgate-Webhooks/1",
            "webhook-id": delivery.eventId,
            "webhook-timestamp": String(Math.floor(signedAt.getTime() / 1000)),
            "webhook-signature": signature,
          },
          body: payload,
          redirect: "manual",
          signal: AbortSignal.any([AbortSignal.timeout(timeoutMs), stopping.signal]),
        });
        status = response.status;
        retryAfter = response.headers.get("retry-after");
        if (status < 200 || status >= 300) error = `the receiver answered ${status}`;
        await response.body?.cancel().catch(() => undefined);
      } catch (cause) {
        if (stopping.signal.aborted) {
          await store.release(delivery);
          return;
        }
        const name = (cause as Error).name;
        if (name === "TimeoutError") {
          error = `no answer within ${timeoutMs / 1000} s`;
        } else {
          logger.warn({ delivery: delivery.id, err: cause }, "webhook receiver not reachable");
          error = UNREACHABLE;
        }
      }
    }
    const outcome = outcomeOf(delivery, started, status, error, retryAfter);
    await store.recordAttempt(delivery, outcome);
    if (outcome.state === "succeeded") totals.succeeded += 1;
    else if (outcome.state === "failed") totals.failed += 1;
    else totals.retried += 1;
  };

  const loop = async () => {
    while (!stopping.signal.aborted) {
      const free = concurrency - inFlight.size;
      let claimed: ClaimedDelivery[] = [];
      if (free > 0) {
        try {
          claimed = await store.claimDue(free, timeoutMs + LEASE_MARGIN_MS);
        } catch (error) {
          logger.warn({ err: error }, "webhook dispatcher could not claim deliveries");
        }
        for (const delivery of claimed) {
          const running: Promise<void> = send(delivery)
            .catch((error) => {
              logger.warn({ err: error, delivery: delivery.id }, "webhook attempt not recorded");
            })
            .finally(() => {
              inFlight.delete(running);
              slotFreed.notify();
            });
          inFlight.add(running);
        }
      }
      if (claimed.length > 0 && claimed.length === free) continue;
      // Sleeps until the next retry is due, a new event arrives or a slot frees up.
      const due = await store.nextDueInMs().catch(() => undefined);
      const sleepMs = Math.max(10, Math.min(pollMs, due ?? pollMs));
      const waking = new AbortController();
      const signal = AbortSignal.any([waking.signal, stopping.signal]);
      await Promise.race([wakeup.wait(sleepMs, signal), slotFreed.wait(sleepMs, signal)]);
      waking.abort();
    }
  };
  const running = loop();

  return {
    async stop() {
      stopping.abort();
      await running;
      await Promise.allSettled([...inFlight]);
      await agent.close();
    },
    stats: () => ({ ...totals, in_flight: inFlight.size }),
  };
}

// A Retry-After header in seconds or as an HTTP date; undefined when absent or unreadable.
function retryAfterMs(header: string | null): number | undefined {
  if (header === null || header.trim() === "") return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}
