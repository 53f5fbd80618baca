import { randomUUID } from "node:crypto";
import type { DescService } from "@bufbuild/protobuf";
import { type Client, Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { EntitlementService } from "../gen/tollgate/v1/entitlement_service_pb.js";
import { type Event, EventService } from "../gen/tollgate/v1/event_service_pb.js";
import { UsageService } from "../gen/tollgate/v1/usage_service_pb.js";
import { queryRows } from "./support/app.js";
import { createKeyWithCli } from "./support/cli.js";
import { grpcClient } from "./support/clients.js";
import { useReplicas } from "./support/replicas.js";
import { startServerProcess } from "./support/server-process.js";

const ADMIN_KEY = "tg_evadmin1_EventsAdminSecretEventsAdminSecret7";

/** A client of `service` on `baseUrl` that sends `key` as its bearer token. */
function clientOf<T extends DescService>(service: T, baseUrl: string, key = ADMIN_KEY): Client<T> {
  return grpcClient(service, baseUrl, key);
}

/** Reads a stream until `count` events arrived, then cancels it. */
async function take(
  stream: AsyncIterable<{ event?: Event }>,
  count: number,
  stop: AbortController,
) {
  const events: Event[] = [];
  for await (const message of stream) {
    events.push(message.event as Event);
    if (events.length === count) break;
  }
  stop.abort();
  return events;
}

describe("events and threshold alerts on two replicas", () => {
  const suite = useReplicas(2, {
    TOLLGATE_BOOTSTRAP_ADMIN_KEY: ADMIN_KEY,
    SETTLE_SWEEP_INTERVAL_SECONDS: "0.2",
    BILLING_RATE_LIMIT_BURST: "100000",
  });
  const replicas = () => suite.servers.map((s) => s.baseUrl);
  const eventsOf = async (tenantId: string) =>
    queryRows<{ type: string; threshold: string | null }>(
      suite.db.url,
      "select type, data->>'threshold' as threshold from events where tenant_id = $1 order by seq",
      [tenantId],
    );

  it("should announce 80 % and 100 % once each, and the first denial once, under 500 concurrent calls", async () => {
    // given a FREE tenant (100 executions) and 500 concurrent CheckAndRecord(1) over two replicas
    const tenantId = randomUUID();
    const clients = replicas().map((url) => clientOf(EntitlementService, url));
    const answers = await Promise.all(
      Array.from({ length: 500 }, (_, i) =>
        (clients[i % 2] as Client<typeof EntitlementService>).checkAndRecord({
          tenantId,
          resourceType: "executions",
        }),
      ),
    );

    // then exactly 100 were admitted, and each threshold and the first denial is one event
    expect(answers.filter((a) => a.allowed)).toHaveLength(100);
    expect(await eventsOf(tenantId)).toEqual([
      { type: "entitlement.threshold_crossed", threshold: "0.8" },
      { type: "entitlement.threshold_crossed", threshold: "1" },
      { type: "entitlement.denied", threshold: null },
    ]);
    const { events } = await clientOf(EventService, replicas()[0] as string).listEvents({
      tenantId,
      types: ["entitlement.threshold_crossed"],
    });
    expect(events.map((e) => e.data)).toEqual([
      expect.objectContaining({ threshold: "1", used: "100", limit: "100", plan_id: "free" }),
      expect.objectContaining({ threshold: "0.8", limit: "100", resource_type: "executions" }),
    ]);
  });

  it("should announce each threshold once when usage arrives through StreamUsage and reservations", async () => {
    // given two replicas streaming 60 events of one each for one FREE tenant at once
    const tenantId = randomUUID();
    await Promise.all(
      replicas().map((url, r) =>
        clientOf(UsageService, url).streamUsage(
          (async function* () {
            for (let b = 0; b < 6; b++) {
              yield {
                events: Array.from({ length: 10 }, (_, i) => ({
                  eventId: `r${r}-${b}-${i}`,
                  tenantId,
                  resourceType: "executions",
                })),
              };
            }
          })(),
        ),
      ),
    );

    // then the sweep announces 80 % and 100 % exactly once
    await expect.poll(async () => (await eventsOf(tenantId)).length, { timeout: 10_000 }).toBe(2);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(await eventsOf(tenantId)).toEqual([
      { type: "entitlement.threshold_crossed", threshold: "0.8" },
      { type: "entitlement.threshold_crossed", threshold: "1" },
    ]);

    // and a committed reservation crosses a threshold through the same sweep
    const other = randomUUID();
    const entitlements = clientOf(EntitlementService, replicas()[1] as string);
    const held = await entitlements.reserve({
      tenantId: other,
      resourceType: "agents",
      quantity: "2",
    });
    await entitlements.commitReservation({ reservationId: held.reservationId });
    await expect
      .poll(async () => (await eventsOf(other)).map((e) => e.threshold), { timeout: 10_000 })
      .toEqual(["0.8", "1"]);
  });

  it("should never admit beyond allowance plus grants across replicas", async () => {
    // given a FREE tenant with a grant of 50 executions
    const tenantId = randomUUID();
    const [first, second] = replicas().map((url) => clientOf(EntitlementService, url));
    await first!.grantCredits({ tenantId, resourceType: "executions", quantity: "50" });

    // when 500 calls of 1 race on both replicas
    const answers = await Promise.all(
      Array.from({ length: 500 }, (_, i) =>
        (i % 2 === 0 ? first! : second!).checkAndRecord({ tenantId, resourceType: "executions" }),
      ),
    );

    // then exactly 150 were admitted and the grant is drawn to zero, once
    expect(answers.filter((a) => a.allowed)).toHaveLength(150);
    const [counter] = await queryRows(
      suite.db.url,
      "select used::text, granted::text from usage_counters where tenant_id = $1",
      [tenantId],
    );
    expect(counter).toEqual({ used: "150", granted: "50" });
    const { grants } = await first!.listGrants({ tenantId, includeExpired: true });
    expect(grants.map((g) => g.remaining)).toEqual(["0"]);
  });

  it("should resume a stream from its cursor without gaps or repeats, across a restart", async () => {
    // given a stream on replica A following one tenant's events written on replica B
    const tenantId = randomUUID();
    const [urlA, urlB] = replicas() as [string, string];
    const writer = clientOf(EntitlementService, urlB);
    const use = (resourceType: string, quantity: string) =>
      writer.checkAndRecord({ tenantId, resourceType, quantity });
    const firstStop = new AbortController();
    // (from the start: the tenant has no events yet, and none written before the stream is
    // set up can be missed)
    const firstStream = clientOf(EventService, urlA).streamEvents(
      { tenantId, fromStart: true },
      { signal: firstStop.signal },
    );
    const firstPart = take(firstStream, 4, firstStop);
    await use("executions", "100");
    await use("executions", "1");
    await use("tokens", "100000");
    await use("tokens", "1");
    const received = await firstPart;

    // when replica A is killed and more events are written on B meanwhile
    await suite.servers[0]?.stop("SIGKILL");
    await use("api_calls", "1000");
    await use("api_calls", "1");
    await use("agents", "2");
    const restarted = await startServerProcess({
      DATABASE_URL: suite.db.url,
      TOLLGATE_BOOTSTRAP_ADMIN_KEY: ADMIN_KEY,
    });
    suite.servers[0] = restarted;

    // then a stream resumed after the last event received on the new replica gets exactly the
    // rest, in commit order, and follows events written afterwards on B
    const secondStop = new AbortController();
    const secondPart = take(
      clientOf(EventService, restarted.baseUrl).streamEvents(
        { tenantId, afterEventId: received.at(-1)?.id ?? "" },
        { signal: secondStop.signal },
      ),
      10,
      secondStop,
    );
    await use("workflows", "5");
    await use("workflows", "1");
    const rest = await secondPart;
    const all = await queryRows<{ id: string }>(
      suite.db.url,
      "select id from events where tenant_id = $1 order by seq",
      [tenantId],
    );
    expect(all).toHaveLength(14);
    expect([...received, ...rest].map((e) => e.id)).toEqual(all.map((e) => e.id));
    // and a new stream from the start replays all of them, in the same order
    const replayStop = new AbortController();
    const replay = await take(
      clientOf(EventService, urlB).streamEvents(
        { tenantId, fromStart: true },
        { signal: replayStop.signal },
      ),
      14,
      replayStop,
    );
    expect(replay.map((e) => e.id)).toEqual(all.map((e) => e.id));
    // and a request naming both a start and a cursor is refused
    const both = clientOf(EventService, urlB).streamEvents({
      tenantId,
      fromStart: true,
      afterEventId: all[0]?.id ?? "",
    });
    await expect(both[Symbol.asyncIterator]().next()).rejects.toMatchObject({
      code: Code.InvalidArgument,
      rawMessage: expect.stringContaining("from_start: cannot be set together with after_event_id"),
    });
  });

  it("should resume a stream of every tenant without gaps or repeats while tenants write on both replicas", async () => {
    // given twelve tenants, each about to cross 80 % and 100 % of FREE's executions and be
    // denied (three events each), through both replicas at once
    const tenants = Array.from({ length: 12 }, () => randomUUID());
    const ours = new Set<string>(tenants);
    const [urlA, urlB] = replicas() as [string, string];
    const collect = async (stream: AsyncIterable<{ event?: Event }>, count: number) => {
      const events: Event[] = [];
      let last: Event | undefined;
      for await (const message of stream) {
        last = message.event as Event;
        if (ours.has(last.tenantId)) events.push(last);
        if (events.length === count) break;
      }
      return { events, last };
    };
    const firstStop = new AbortController();
    const first = collect(
      clientOf(EventService, urlA).streamEvents({ fromStart: true }, { signal: firstStop.signal }),
      14,
    );
    const writes = Promise.all(
      tenants.map(async (tenantId, i) => {
        const client = clientOf(EntitlementService, i % 2 === 0 ? urlA : urlB);
        await client.checkAndRecord({ tenantId, resourceType: "executions", quantity: "80" });
        await client.checkAndRecord({ tenantId, resourceType: "executions", quantity: "20" });
        await client.checkAndRecord({ tenantId, resourceType: "executions", quantity: "1" });
      }),
    );

    // when the stream stops after 14 of them and resumes on the other replica after the last
    // event it received, while the writes go on
    const received = await first;
    firstStop.abort();
    const secondStop = new AbortController();
    const rest = await collect(
      clientOf(EventService, urlB).streamEvents(
        { afterEventId: received.last?.id ?? "" },
        { signal: secondStop.signal },
      ),
      36 - 14,
    );
    secondStop.abort();
    await writes;

    // then the two parts hold every event of these tenants once, each tenant's in its order
    const stored = await queryRows<{ id: string; tenant_id: string }>(
      suite.db.url,
      "select id, tenant_id from events where tenant_id = any($1) order by tenant_id, seq",
      [tenants],
    );
    expect(stored).toHaveLength(36);
    const streamed = [...received.events, ...rest.events];
    expect(new Set(streamed.map((e) => e.id)).size).toBe(36);
    for (const tenantId of tenants) {
      expect(streamed.filter((e) => e.tenantId === tenantId).map((e) => e.id)).toEqual(
        stored.filter((e) => e.tenant_id === tenantId).map((e) => e.id),
      );
    }
  });

  it("should keep tenants' events apart", async () => {
    // given tenant keys for A and B, and events of both
    const tenantA = randomUUID();
    const tenantB = randomUUID();
    const keyA = await createKeyWithCli(suite.db.url, tenantA);
    const url = replicas()[1] as string;
    const entitlements = clientOf(EntitlementService, url);
    await entitlements.checkAndRecord({
      tenantId: tenantA,
      resourceType: "executions",
      quantity: "100",
    });
    await entitlements.checkAndRecord({
      tenantId: tenantB,
      resourceType: "executions",
      quantity: "100",
    });
    const [eventOfB] = await queryRows<{ id: string }>(
      suite.db.url,
      "select id from events where tenant_id = $1 order by seq",
      [tenantB],
    );
    const asA = clientOf(EventService, url, keyA);
    const codeOf = async (call: Promise<unknown>) =>
      call.then(
        () => Code[0],
        (e) => Code[ConnectError.from(e).code],
      );
    const streamCode = async (request: { tenantId: string; afterEventId?: string }) => {
      const stop = new AbortController();
      setTimeout(() => stop.abort(), 500);
      try {
        for await (const _ of asA.streamEvents(request, { signal: stop.signal })) break;
        return "ok";
      } catch (error) {
        const code = ConnectError.from(error).code;
        return stop.signal.aborted && code === Code.Canceled ? "ok" : Code[code];
      }
    };

    // then A's key sees only A's events, and nothing of B's or of the endpoints
    const own = await asA.listEvents({ tenantId: tenantA });
    expect(own.events.map((e) => e.tenantId)).toEqual([tenantA, tenantA]);
    expect(await codeOf(asA.listEvents({ tenantId: tenantB }))).toBe("PermissionDenied");
    expect(await codeOf(asA.listEvents({ tenantId: "" }))).toBe("PermissionDenied");
    expect(await streamCode({ tenantId: tenantB })).toBe("PermissionDenied");
    expect(await streamCode({ tenantId: "" })).toBe("PermissionDenied");
    expect(await streamCode({ tenantId: tenantA, afterEventId: eventOfB?.id ?? "" })).toBe(
      "NotFound",
    );
    expect(await streamCode({ tenantId: tenantA })).toBe("ok");
    expect(await codeOf(asA.listWebhookEndpoints({}))).toBe("PermissionDenied");
    expect(await codeOf(asA.createWebhookEndpoint({ url: "http://127.0.0.1:9/x" }))).toBe(
      "PermissionDenied",
    );
  });
});
