import { ResourceExhaustedError, UnavailableError } from "../platform/errors/domain-error.js";

/** Options of {@link createBufferRoom}. */
export interface BufferRoomOptions {
  /** Most events held at once. */
  maxEvents: number;
  /** Most estimated heap bytes held at once. */
  maxBytes: number;
}

/** What one caller holds, or asks to hold. */
export interface RoomClaim {
  events: number;
  bytes: number;
}

/**
 * The usage buffer's room: a two-dimensional counting semaphore (events and bytes) whose
 * waiters are served strictly in arrival order. Room is taken at the moment a waiter is let
 * in, never against a count read earlier, so the held totals cannot pass the limits. A claim
 * bigger than the whole buffer is let in only when nothing else is held, so it still makes
 * progress, alone.
 */
export interface BufferRoom {
  /**
   * Takes room for `claim`, waiting behind earlier waiters: up to `waitMs`, then
   * `ResourceExhausted`; without `waitMs`, until there is room or the room closes.
   */
  take(claim: RoomClaim, waitMs?: number): Promise<void>;
  /** Gives room back and lets in as many waiters, in order, as now fit. */
  give(claim: RoomClaim): void;
  /** What is held now. */
  held(): RoomClaim;
  /** Refuses every waiter and every later take with `Unavailable`. */
  close(): void;
}

interface Waiter {
  claim: RoomClaim;
  admit(): void;
  refuse(error: Error): void;
}

/** Creates an empty {@link BufferRoom}. */
export function createBufferRoom(options: BufferRoomOptions): BufferRoom {
  const queue: Waiter[] = [];
  let events = 0;
  let bytes = 0;
  let closed = false;

  const fits = (claim: RoomClaim) =>
    (events === 0 && bytes === 0) ||
    (events + claim.events <= options.maxEvents && bytes + claim.bytes <= options.maxBytes);

  const hold = (claim: RoomClaim) => {
    events += claim.events;
    bytes += claim.bytes;
  };

  // Lets waiters in from the head while the head fits. Each step either removes the head or
  // stops, so the loop ends after at most `queue.length` steps; a head that does not fit
  // blocks those behind it, which keeps the order fair and stops small claims starving a
  // large one.
  const admitFromHead = () => {
    for (let head = queue[0]; head !== undefined && fits(head.claim); head = queue[0]) {
      queue.shift();
      hold(head.claim);
      head.admit();
    }
  };

  return {
    take(claim, waitMs) {
      if (closed) return Promise.reject(shuttingDown());
      if (queue.length === 0 && fits(claim)) {
        hold(claim);
        return Promise.resolve();
      }
      return new Promise<void>((resolve, reject) => {
        let timer: NodeJS.Timeout | undefined;
        const waiter: Waiter = {
          claim,
          admit() {
            if (timer) clearTimeout(timer);
            resolve();
          },
          refuse(error) {
            if (timer) clearTimeout(timer);
            reject(error);
          },
        };
        queue.push(waiter);
        if (waitMs !== undefined) {
          timer = setTimeout(() => {
            const index = queue.indexOf(waiter);
            if (index < 0) return;
            queue.splice(index, 1);
            reject(new ResourceExhaustedError("the usage buffer is full; retry shortly", waitMs));
            // Whoever waited behind this one may fit now.
            admitFromHead();
          }, waitMs);
        }
      });
    },
    give(claim) {
      events -= claim.events;
      bytes -= claim.bytes;
      admitFromHead();
    },
    held: () => ({ events, bytes }),
    close() {
      closed = true;
      for (const waiter of queue.splice(0)) waiter.refuse(shuttingDown());
    },
  };
}

function shuttingDown(): UnavailableError {
  return new UnavailableError("the server is shutting down");
}

// V8 keeps a string in at least a header plus one byte per character (two beyond Latin-1), and
// an object per event, its attribute map and each entry in a few dozen bytes more.
const EVENT_OVERHEAD_BYTES = 400;
const STRING_OVERHEAD_BYTES = 32;
const ENTRY_OVERHEAD_BYTES = 64;

/**
 * A generous estimate of the heap one buffered event holds, so the buffer's byte bound tracks
 * memory whether events are bare or carry the most attributes validation lets through.
 */
export function estimateEventBytes(event: {
  eventId: string;
  tenantId: string;
  resourceType: string;
  quantity: string;
  attributes: Record<string, string>;
}): number {
  let size =
    EVENT_OVERHEAD_BYTES +
    stringBytes(event.eventId) +
    stringBytes(event.tenantId) +
    stringBytes(event.resourceType) +
    stringBytes(event.quantity);
  for (const key in event.attributes) {
    size += ENTRY_OVERHEAD_BYTES + stringBytes(key) + stringBytes(event.attributes[key] ?? "");
  }
  return size;
}

function stringBytes(value: string): number {
  return STRING_OVERHEAD_BYTES + 2 * value.length;
}
