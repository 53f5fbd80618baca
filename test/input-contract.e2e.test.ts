import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { create, toBinary } from "@bufbuild/protobuf";
import { TimestampSchema, timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code, type createClient } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type BillingService,
  ListAuditEventsRequestSchema,
} from "../gen/tollgate/v1/billing_service_pb.js";
import type { EntitlementService } from "../gen/tollgate/v1/entitlement_service_pb.js";
import type { UsageService } from "../gen/tollgate/v1/usage_service_pb.js";
import { countRows, startTestApp, type TestApp } from "./support/app.js";
import { createKeyWithCli } from "./support/cli.js";
import { errorOf, grpcTransport, tollgateClients } from "./support/clients.js";
import { createTestDatabase, type TestDatabase } from "./support/database.js";

const ADMIN_KEY = "tg_c0ntr4ct_AdminSecretAdminSecretAdminSecret42";
const NUL = "\u0000";
const YEAR_0 = create(TimestampSchema, { seconds: -62_167_219_200n });

describe("the input contract", () => {
  let db: TestDatabase;
  let app: TestApp;
  let tenantKey: string;
  const tenantId = randomUUID();
  const admin = { headers: { authorization: `Bearer ${ADMIN_KEY}` } };
  let billing: ReturnType<typeof createClient<typeof BillingService>>;
  let entitlements: ReturnType<typeof createClient<typeof EntitlementService>>;
  let usage: ReturnType<typeof createClient<typeof UsageService>>;

  beforeAll(async () => {
    db = await createTestDatabase();
    app = await startTestApp(
      db.url,
      {},
      { TOLLGATE_BOOTSTRAP_ADMIN_KEY: ADMIN_KEY, BILLING_RATE_LIMIT_BURST: "1000" },
    );
    tenantKey = await createKeyWithCli(db.url, tenantId);
    const grpc = grpcTransport(app.baseUrl);
    ({ billing, entitlements, usage } = tollgateClients(grpc));
    await billing.createCustomer({ tenantId, email: "c@example.com" }, admin);
  });

  afterAll(async () => {
    await app?.stop();
    await db?.drop();
  });

  it("should answer InvalidArgument for every out-of-contract unary field, and store nothing", async () => {
    // given the table of inputs PostgreSQL or Stripe would refuse
    const other = randomUUID();
    const forgedToken = Buffer.from(
      JSON.stringify({ s: `subscriptions/${tenantId}`, t: new Date().toISOString(), i: NUL }),
    ).toString("base64url");
    const tooManyKeys = Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`k${i}`, "v"]));
    const cases: [string, () => Promise<unknown>, string][] = [
      [
        "CheckAndRecord: NUL in idempotency_key",
        () =>
          entitlements.checkAndRecord(
            { tenantId, resourceType: "executions", idempotencyKey: `k${NUL}` },
            admin,
          ),
        "idempotency_key",
      ],
      [
        "Reserve: NUL in idempotency_key",
        () =>
          entitlements.reserve(
            { tenantId, resourceType: "executions", idempotencyKey: `k${NUL}` },
            admin,
          ),
        "idempotency_key",
      ],
      [
        "RecordUsage: control character in idempotency_key",
        () =>
          entitlements.recordUsage(
            { tenantId, resourceType: "tokens", idempotencyKey: "bell\u0007" },
            admin,
          ),
        "idempotency_key",
      ],
      [
        "CreateCustomer: NUL in name",
        () => billing.createCustomer({ tenantId: other, email: "a@b.c", name: `x${NUL}` }, admin),
        "name",
      ],
      [
        "CreateCustomer: NUL in request_id",
        () =>
          billing.createCustomer({ tenantId: other, email: "a@b.c", requestId: `r${NUL}` }, admin),
        "request_id",
      ],
      [
        "CreateCustomer: NUL in email",
        () => billing.createCustomer({ tenantId: other, email: `a${NUL}@b.c` }, admin),
        "email",
      ],
      [
        "CreateCustomer: NUL in a metadata value",
        () =>
          billing.createCustomer(
            { tenantId: other, email: "a@b.c", metadata: { k: `v${NUL}` } },
            admin,
          ),
        "metadata",
      ],
      [
        "CreateCustomer: 50 metadata keys (Tollgate adds tenant_id, Stripe allows 50)",
        () =>
          billing.createCustomer({ tenantId: other, email: "a@b.c", metadata: tooManyKeys }, admin),
        "metadata",
      ],
      [
        "CreateCustomer: square brackets in a metadata key",
        () =>
          billing.createCustomer(
            { tenantId: other, email: "a@b.c", metadata: { "a[b]": "v" } },
            admin,
          ),
        "metadata",
      ],
      [
        "CreateCustomer: the reserved tenant_id metadata key",
        () =>
          billing.createCustomer(
            { tenantId: other, email: "a@b.c", metadata: { tenant_id: "x" } },
            admin,
          ),
        "metadata",
      ],
      [
        "CreateSubscription: control character in customer_id",
        () =>
          billing.createSubscription(
            { customerId: "cus_\u0001", priceId: "price_pro_monthly" },
            admin,
          ),
        "customer_id",
      ],
      [
        "GetSubscription: NUL in subscription_id",
        () => billing.getSubscription({ subscriptionId: `sub_${NUL}` }, admin),
        "subscription_id",
      ],
      [
        "ListSubscriptions: a forged page token carrying NUL",
        () => billing.listSubscriptions({ tenantId, pageToken: forgedToken }, admin),
        "page_token",
      ],
      [
        "GetUsage: a start_time in year 0",
        () =>
          usage.getUsage(
            { tenantId, startTime: YEAR_0, endTime: timestampFromDate(new Date()) },
            admin,
          ),
        "start_time",
      ],
      [
        "GetUsage: an end_time with negative nanos",
        () =>
          usage.getUsage(
            {
              tenantId,
              startTime: timestampFromDate(new Date(0)),
              endTime: create(TimestampSchema, { seconds: 1_700_000_000n, nanos: -1 }),
            },
            admin,
          ),
        "end_time",
      ],
    ];
    const before = await countRows(db.url);

    // when each is sent
    const outcomes = [];
    for (const [name, call, field] of cases) {
      const error = await errorOf(call());
      outcomes.push({ name, code: error?.code, namesField: error?.rawMessage.includes(field) });
    }

    // then every one is InvalidArgument naming its field, and nothing was written
    expect(outcomes).toEqual(
      cases.map(([name]) => ({ name, code: Code.InvalidArgument, namesField: true })),
    );
    expect(await countRows(db.url)).toEqual(before);
  });

  it("should reject each out-of-contract event on its own and store the rest", async () => {
    // given good events around every kind of bad one
    const at = (date: string) => timestampFromDate(new Date(date));
    const event = (eventId: string, extra: Record<string, unknown> = {}) => ({
      eventId,
      tenantId,
      resourceType: "tokens",
      quantity: "1",
      ...extra,
    });
    const events = [
      event("good-1"),
      event(`nul${NUL}id`),
      event("nul-key", { attributes: { [`k${NUL}`]: "v" } }),
      event("nul-value", { attributes: { k: `v${NUL}` } }),
      event("before-2000", { occurTime: at("1999-12-31T23:59:59Z") }),
      event("year-0", { occurTime: YEAR_0 }),
      event("bad-nanos", {
        occurTime: create(TimestampSchema, { seconds: 1_700_000_000n, nanos: 1_000_000_000 }),
      }),
      event("far-future", { occurTime: timestampFromDate(new Date(Date.now() + 3_600_000)) }),
      event("good-2", {
        occurTime: timestampFromDate(new Date(Date.now() - 3_600_000)),
        attributes: { model: "✓ gpt" },
      }),
      event("too-old", { occurTime: at("2000-01-01T00:00:00Z") }),
    ];

    // when they are tracked
    const summary = await usage.trackUsage({ events }, admin);

    // then exactly the bad ones are rejected, each with its field named
    expect(summary.acceptedCount).toBe(2n);
    expect(
      summary.rejectedEvents.map((r) => [r.eventIndex, r.reason.split(":")[0], r.reasonCode]),
    ).toEqual([
      [1, "event_id", "INVALID_EVENT"],
      [2, 'attributes["k\\u0000"]', "INVALID_EVENT"],
      [3, 'attributes["k"]', "INVALID_EVENT"],
      [4, "occur_time", "INVALID_EVENT"],
      [5, "occur_time", "INVALID_EVENT"],
      [6, "occur_time", "INVALID_EVENT"],
      [7, "occur_time", "EVENT_IN_FUTURE"],
      [9, "occur_time", "EVENT_TOO_OLD"],
    ]);
  });

  it("should refuse a request with two authorization headers on every protocol", async () => {
    // given an admin key first and a tenant key second (a proxy checking the last one sees a
    // tenant key, and Node keeps only the first)
    const both = [`Bearer ${ADMIN_KEY}`, `Bearer ${tenantKey}`];
    const url = `${app.baseUrl}/tollgate.v1.BillingService/ListAuditEvents`;
    const message = toBinary(ListAuditEventsRequestSchema, create(ListAuditEventsRequestSchema));
    const frame = Buffer.concat([Buffer.from([0, 0, 0, 0, message.length]), message]);
    const json = Buffer.from("{}");

    // when ListAuditEvents (admin only) is called that way over each protocol and HTTP version
    const grpc = await curl("h2", url, both, "application/grpc", frame);
    const connectH2 = await curl("h2", url, both, "application/json", json);
    const connectH1 = await curl("h1", url, both, "application/json", json);
    const grpcWebH1 = await curl("h1", url, both, "application/grpc-web+proto", frame);
    const grpcWebH2 = await curl("h2", url, both, "application/grpc-web+proto", frame);
    const oneValue = await curl("h1", url, [both.join(", ")], "application/json", json);

    // then each is Unauthenticated, saying why
    expect(grpc.headers.get("grpc-status")).toBe(String(Code.Unauthenticated));
    expect(grpc.headers.get("grpc-message")).toContain("exactly%20one%20authorization");
    for (const reply of [connectH2, connectH1]) {
      expect(reply.status).toBe(401);
      expect(JSON.parse(reply.body).message).toContain("exactly one authorization header");
    }
    for (const reply of [grpcWebH1, grpcWebH2]) {
      expect(reply.headers.get("grpc-status") ?? reply.body).toContain(
        String(Code.Unauthenticated),
      );
    }
    expect(oneValue.status).toBe(401);
    // and one admin header alone still works, while the tenant key alone may not
    expect((await curl("h1", url, [both[0] as string], "application/json", json)).status).toBe(200);
    expect((await curl("h2", url, [both[1] as string], "application/json", json)).status).toBe(403);
  });
});

interface RawReply {
  status: number;
  /** Response headers and trailers, lower-cased; the last value of a repeated name. */
  headers: Map<string, string>;
  body: string;
}

/**
 * One POST through curl, which (unlike Node's HTTP/2 client) sends every `authorization`
 * value as a header field of its own, over HTTP/1.1 or HTTP/2 with prior knowledge.
 */
function curl(
  version: "h1" | "h2",
  url: string,
  authorization: string[],
  contentType: string,
  body: Buffer,
): Promise<RawReply> {
  const args = [
    "-s",
    version === "h2" ? "--http2-prior-knowledge" : "--http1.1",
    "-X",
    "POST",
    "-H",
    `content-type: ${contentType}`,
    "-H",
    "te: trailers",
    ...authorization.flatMap((value) => ["-H", `authorization: ${value}`]),
    "--data-binary",
    "@-",
    "-D",
    "-",
    url,
  ];
  return new Promise((resolve, reject) => {
    const child = spawn("curl", args, { stdio: ["pipe", "pipe", "inherit"] });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => {
      output += chunk.toString("latin1");
    });
    child.on("error", reject);
    child.on("close", () => {
      const headers = new Map<string, string>();
      for (const line of output.split("\r\n")) {
        const match = /^([a-z0-9-]+): (.*)$/i.exec(line);
        if (match?.[1] && match[2] !== undefined) headers.set(match[1].toLowerCase(), match[2]);
      }
      const status = Number(/^HTTP\/[0-9.]+ (\d+)/.exec(output)?.[1] ?? 0);
      resolve({ status, headers, body: output.slice(output.indexOf("\r\n\r\n") + 4) });
    });
    child.stdin.end(body);
  });
}
