import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import type { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Decimal } from "decimal.js";
import { UsageService } from "../../gen/tollgate/v1/usage_service_pb.js";
import { queryRows } from "./app.js";
import { grpcClient } from "./clients.js";

/* Usage events for ingestion tests: generated with exact expected totals, streamed, and read back. */

export interface Event {
  eventId: string;
  tenantId: string;
  resourceType: string;
  quantity: string;
  occurTime?: ReturnType<typeof timestampFromDate>;
}

const QUANTITIES = ["1", "2.5", "0.25", "10", "3.125"];

/**
 * `count` token events over `tenants`, where about `repeatRatio` of them repeat an earlier
 * event exactly (same id, same content), as a client retrying would. Returns the events and,
 * per tenant, the exact total of the distinct ones.
 */
export function makeEvents(count: number, tenants: string[], repeatRatio: number) {
  const events: Event[] = [];
  const expected = new Map<string, Decimal>();
  for (let i = 0; i < count; i++) {
    if (events.length > 10 && i % Math.round(1 / repeatRatio) === 0) {
      events.push(events[(i * 7919) % events.length] as Event);
      continue;
    }
    const tenantId = tenants[i % tenants.length] as string;
    const quantity = QUANTITIES[i % QUANTITIES.length] as string;
    events.push({ eventId: randomUUID(), tenantId, resourceType: "tokens", quantity });
    expected.set(tenantId, (expected.get(tenantId) ?? new Decimal(0)).plus(quantity));
  }
  return { events, expected };
}

export function chunk<T>(items: T[], size: number): T[][] {
  return Array.from({ length: Math.ceil(items.length / size) }, (_, i) =>
    items.slice(i * size, (i + 1) * size),
  );
}

/** Streams `events` in messages of `perMessage`, pausing `pauseMs` between messages. */
export function stream(baseUrl: string, events: Event[], perMessage = 250, pauseMs = 0) {
  async function* messages() {
    for (const part of chunk(events, perMessage)) {
      yield { events: part };
      if (pauseMs > 0) await sleep(pauseMs);
    }
  }
  return grpcClient(UsageService, baseUrl).streamUsage(messages());
}

export async function storedTotals(url: string, tenants: string[]): Promise<Map<string, string>> {
  const rows = await queryRows<{ tenant_id: string; total: string }>(
    url,
    "select tenant_id, sum(quantity)::text as total from usage_events where tenant_id = any($1) group by tenant_id",
    [tenants],
  );
  return new Map(rows.map((r) => [r.tenant_id, new Decimal(r.total).toFixed()]));
}

export async function counterTotals(url: string, tenants: string[]): Promise<Map<string, string>> {
  const rows = await queryRows<{ tenant_id: string; used: string }>(
    url,
    "select tenant_id, sum(used)::text as used from usage_counters where tenant_id = any($1) and resource_type = 'tokens' group by tenant_id",
    [tenants],
  );
  return new Map(rows.map((r) => [r.tenant_id, new Decimal(r.used).toFixed()]));
}

export function asStrings(expected: Map<string, Decimal>): Map<string, string> {
  return new Map([...expected].map(([tenant, total]) => [tenant, total.toFixed()]));
}
