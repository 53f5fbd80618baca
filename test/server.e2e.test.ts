import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { once } from "node:events";
import http2 from "node:http2";
import { promisify } from "node:util";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { status as GrpcStatus, Metadata } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  Health,
  HealthCheckRequestSchema,
  HealthCheckResponse_ServingStatus,
  HealthCheckResponseSchema,
} from "../gen/health/v1/health_pb.js";
import {
  BillingService,
  CreateCustomerRequestSchema,
} from "../gen/tollgate/v1/billing_service_pb.js";
import { grpcClient, grpcTransport } from "./support/clients.js";
import { createTestDatabase, type TestDatabase } from "./support/database.js";
import { callUnary, createGrpcJsClient } from "./support/grpc-js.js";
import { type ServerProcess, startServerProcess } from "./support/server-process.js";
import { waitFor } from "./support/wait.js";

const run = promisify(execFile);
const PLAN_IDS = ["free", "pro", "team", "enterprise"];

describe("the server process on PostgreSQL", () => {
  let db: TestDatabase;
  let server: ServerProcess;

  beforeAll(async () => {
    db = await createTestDatabase();
    server = await startServerProcess({ DATABASE_URL: db.url, MAX_MESSAGE_BYTES: "65536" });
  });

  afterAll(async () => {
    await server?.stop();
    await db?.drop();
  });

  describe("one RPC over every protocol", () => {
    it("should answer gRPC from a @grpc/grpc-js client that loaded proto/", async () => {
      const client = createGrpcJsClient(`127.0.0.1:${server.port}`, "tollgate.v1.BillingService");
      const { response } = await callUnary<{ plans: { id: string }[] }>(client, "listPlans", {});
      client.close();
      expect(response?.plans.map((p) => p.id)).toEqual(PLAN_IDS);
    });

    it("should answer Connect JSON over HTTP/1.1 fetch", async () => {
      const res = await post(
        server,
        "/tollgate.v1.BillingService/ListPlans",
        "application/json",
        "{}",
      );
      expect(res.status).toBe(200);
      const body = (await res.json()) as { plans: { id: string; priceId?: string }[] };
      expect(body.plans.map((p) => p.id)).toEqual(PLAN_IDS);
      expect(body.plans[1]?.priceId).toBe("price_pro_monthly");
    });

    it.each([
      [
        "gRPC-Web over HTTP/1.1",
        () => createGrpcWebTransport({ baseUrl: server.baseUrl, httpVersion: "1.1" }),
      ],
      [
        "gRPC-Web over h2c",
        () => createGrpcWebTransport({ baseUrl: server.baseUrl, httpVersion: "2" }),
      ],
      [
        "Connect binary over h2c",
        () => createConnectTransport({ baseUrl: server.baseUrl, httpVersion: "2" }),
      ],
      ["gRPC over h2c (Connect client)", () => grpcTransport(server.baseUrl)],
    ])("should answer %s", async (_name, transport) => {
      const billing = createClient(BillingService, transport());
      const { plans } = await billing.listPlans({});
      expect(plans.map((p) => p.id)).toEqual(PLAN_IDS);

      const health = createClient(Health, transport());
      expect((await health.check({ service: "" })).status).toBe(
        HealthCheckResponse_ServingStatus.SERVING,
      );
    });

    it("should route each HTTP/2 stream by itself: gRPC unary to grpc-js, the rest to Connect", async () => {
      // given one HTTP/2 connection
      const session = http2.connect(server.baseUrl);
      const check = toBinary(HealthCheckRequestSchema, create(HealthCheckRequestSchema));
      const checkPath = "/grpc.health.v1.Health/Check";

      // when it carries gRPC unary, Connect, gRPC+JSON and gRPC client-streaming calls at once
      const [grpcUnary, connect, grpcJson, grpcStream] = await Promise.all([
        rawCall(session, checkPath, "application/grpc", grpcFrame(check)),
        rawCall(session, checkPath, "application/proto", check),
        rawCall(session, checkPath, "application/grpc+json", grpcFrame(Buffer.from("{}"))),
        rawCall(
          session,
          "/tollgate.v1.UsageService/StreamUsage",
          "application/grpc",
          Buffer.alloc(0),
        ),
      ]);
      session.close();

      // then every one is answered, the gRPC unary call by grpc-js (which announces the
      // encodings it accepts) and the others by Connect (which does not)
      expect(grpcUnary.headers["grpc-status"]).toBe("0");
      expect(grpcUnary.headers["grpc-accept-encoding"]).toBe("identity,deflate,gzip");
      expect(fromBinary(HealthCheckResponseSchema, grpcUnary.body.subarray(5)).status).toBe(
        HealthCheckResponse_ServingStatus.SERVING,
      );
      expect(connect.headers[":status"]).toBe(200);
      expect(fromBinary(HealthCheckResponseSchema, connect.body).status).toBe(
        HealthCheckResponse_ServingStatus.SERVING,
      );
      expect(grpcJson.headers["grpc-status"]).toBe("0");
      expect(grpcJson.headers["content-type"]).toBe("application/grpc+json");
      expect(grpcJson.headers["grpc-accept-encoding"]).toBeUndefined();
      expect(grpcStream.headers["grpc-status"]).toBe("0");
      expect(grpcStream.headers["grpc-accept-encoding"]).toBeUndefined();
    });

    it("should report health per service over gRPC and NOT_FOUND for unknown ones", async () => {
      const client = createGrpcJsClient(`127.0.0.1:${server.port}`, "grpc.health.v1.Health");
      const known = await callUnary<{ status: string }>(client, "check", {
        service: "tollgate.v1.UsageService",
      });
      const unknown = await callUnary(client, "check", { service: "nope.Service" });
      client.close();
      expect(known.response?.status).toBe("SERVING");
      expect(unknown.error?.code).toBe(GrpcStatus.NOT_FOUND);
    });
  });

  describe("reflection", () => {
    it("should let buf curl list every service", async () => {
      const { stdout } = await run("npx", [
        "buf",
        "curl",
        "--protocol",
        "grpc",
        "--http2-prior-knowledge",
        server.baseUrl,
        "--list-services",
      ]);
      expect(stdout.trim().split("\n").sort()).toEqual([
        "grpc.health.v1.Health",
        "grpc.reflection.v1.ServerReflection",
        "tollgate.v1.BillingService",
        "tollgate.v1.EntitlementService",
        "tollgate.v1.EventService",
        "tollgate.v1.UsageService",
      ]);
    });

    it("should let buf curl describe methods and call one through reflection", async () => {
      const { stdout: methods } = await run("npx", [
        "buf",
        "curl",
        "--protocol",
        "grpc",
        "--http2-prior-knowledge",
        server.baseUrl,
        "--list-methods",
      ]);
      expect(methods).toContain("tollgate.v1.EntitlementService/CheckAndRecord");
      const { stdout } = await run("npx", [
        "buf",
        "curl",
        "--protocol",
        "grpc",
        "--http2-prior-knowledge",
        "--data",
        '{"service":"tollgate.v1.BillingService"}',
        `${server.baseUrl}/grpc.health.v1.Health/Check`,
      ]);
      expect(JSON.parse(stdout)).toEqual({ status: "SERVING" });
    });
  });

  describe("bad requests", () => {
    it("should answer malformed JSON with invalid_argument and stay up", async () => {
      const res = await post(
        server,
        "/tollgate.v1.BillingService/CreateCustomer",
        "application/json",
        '{"tenantId": 42, "nope": ',
      );
      expect(res.status).toBe(400);
      expect(((await res.json()) as { code: string }).code).toBe("invalid_argument");
      await expectServing(server);
    });

    // connect-es (like grpc-go) reports undecodable binary protobuf as `internal`; the call
    // never reaches a handler, so nothing is recorded, and the server carries on.
    it("should refuse malformed binary protobuf before any handler and stay up", async () => {
      const res = await post(
        server,
        "/tollgate.v1.BillingService/CreateCustomer",
        "application/proto",
        new Uint8Array([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f]),
      );
      const body = (await res.json()) as { code: string; message: string };
      expect(body).toEqual({ code: "internal", message: expect.stringMatching(/^parse binary/) });
      const frame = Buffer.concat([Buffer.from([0, 0, 0, 0, 3]), Buffer.from([0x0a, 0xff, 0xff])]);
      const trailers = await rawGrpcCall(
        server.baseUrl,
        "/tollgate.v1.BillingService/CreateCustomer",
        frame,
      );
      expect(trailers["grpc-status"]).toBe(String(GrpcStatus.INTERNAL));
      expect(server.logs().some((l) => l.msg === "rpc" && l.method === "CreateCustomer")).toBe(
        false,
      );
      await expectServing(server);
    });

    it("should refuse a wrong content type with 415", async () => {
      const res = await post(
        server,
        "/tollgate.v1.BillingService/ListPlans",
        "text/plain",
        "hello",
      );
      expect(res.status).toBe(415);
      await expectServing(server);
    });

    it("should answer an oversized message with resource_exhausted over Connect and gRPC", async () => {
      const big = create(CreateCustomerRequestSchema, { name: "x".repeat(100_000) });
      const res = await post(
        server,
        "/tollgate.v1.BillingService/CreateCustomer",
        "application/proto",
        toBinary(CreateCustomerRequestSchema, big),
      );
      expect(((await res.json()) as { code: string }).code).toBe("resource_exhausted");

      const client = createGrpcJsClient(`127.0.0.1:${server.port}`, "tollgate.v1.BillingService");
      const { error } = await callUnary(client, "createCustomer", { name: "x".repeat(100_000) });
      client.close();
      expect(error?.code).toBe(GrpcStatus.RESOURCE_EXHAUSTED);
      await expectServing(server);
    });

    it("should answer an unknown path with 404", async () => {
      const res = await post(server, "/tollgate.v1.NoSuchService/Nope", "application/json", "{}");
      expect(res.status).toBe(404);
    });
  });

  describe("deadlines", () => {
    it("should end a call that outlives its deadline with deadline_exceeded", async () => {
      const health = grpcClient(Health, server.baseUrl);
      const started = Date.now();
      const error = await (async () => {
        for await (const _ of health.watch({ service: "" }, { timeoutMs: 300 })) {
          // The first status arrives at once; the stream then stays open until the deadline.
        }
      })().catch((e: unknown) => ConnectError.from(e));
      expect((error as ConnectError).code).toBe(Code.DeadlineExceeded);
      expect(Date.now() - started).toBeLessThan(5_000);
    });
  });

  describe("observability", () => {
    it("should serve /healthz and Prometheus /metrics with per-RPC counts and latency", async () => {
      const healthz = await fetch(`${server.baseUrl}/healthz`);
      expect(healthz.status).toBe(200);
      expect(await healthz.json()).toEqual({ status: "SERVING", database: "up" });

      const metrics = await (await fetch(`${server.baseUrl}/metrics`)).text();
      expect(metrics).toMatch(
        /tollgate_rpc_calls_total\{service="tollgate\.v1\.BillingService",method="ListPlans",code="ok"\} [1-9]/,
      );
      expect(metrics).toContain("tollgate_rpc_duration_seconds_bucket");
      expect(metrics).toMatch(
        /tollgate_rpc_rejected_requests_total\{path="[^"]+",status="415"\} [1-9]/,
      );
    });

    it("should log one line per call and never the authorization header", async () => {
      const secret = "tg_live_supersecretvalue123";
      const client = createGrpcJsClient(`127.0.0.1:${server.port}`, "tollgate.v1.BillingService");
      const metadata = new Metadata();
      metadata.set("authorization", `Bearer ${secret}`);
      await callUnary(client, "getCustomer", { tenantId: "x" }, metadata);
      client.close();
      await post(server, "/tollgate.v1.BillingService/GetCustomer", "application/json", "{}", {
        authorization: `Bearer ${secret}`,
      });
      await new Promise((r) => setTimeout(r, 100));
      const lines = server.logs().filter((l) => l.msg === "rpc" && l.method === "GetCustomer");
      expect(lines).toHaveLength(2);
      for (const line of lines) {
        expect(line).toMatchObject({
          service: "tollgate.v1.BillingService",
          method: "GetCustomer",
          code: "unauthenticated",
        });
        expect(typeof line.durationMs).toBe("number");
      }
      expect(server.output()).not.toContain(secret);
    });

    it("should log streams a client cancels as canceled, without an error or a stack", async () => {
      // given a reflection stream (as buf curl keeps open) and an event stream, both answered
      const session = http2.connect(server.baseUrl);
      const open = (path: string, message: Uint8Array, end: boolean) => {
        const stream = session.request({
          ":method": "POST",
          ":path": path,
          "content-type": "application/grpc",
          te: "trailers",
        });
        stream.on("error", () => undefined);
        if (end) stream.end(grpcFrame(message));
        else stream.write(grpcFrame(message));
        return stream;
      };
      // ServerReflectionRequest{list_services: "*"}; the request side stays open
      const reflection = open(
        "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
        new Uint8Array([0x3a, 0x01, 0x2a]),
        false,
      );
      // StreamEventsRequest{from_start: true}, with one event stored to replay
      const billing = grpcClient(BillingService, server.baseUrl);
      const { customer } = await billing.createCustomer({
        tenantId: randomUUID(),
        email: "c@x.io",
      });
      await billing.createSubscription({
        customerId: customer?.id ?? "",
        priceId: "price_pro_monthly",
      });
      const events = open(
        "/tollgate.v1.EventService/StreamEvents",
        new Uint8Array([0x20, 1]),
        true,
      );
      await Promise.all([once(reflection, "data"), once(events, "data")]);
      const before = server.logs().length;

      // when the client cancels both (Ctrl-C on buf curl)
      reflection.close(http2.constants.NGHTTP2_CANCEL);
      events.close(http2.constants.NGHTTP2_CANCEL);
      const lines = () =>
        server
          .logs()
          .slice(before)
          .filter((l) => l.msg === "rpc");
      await waitFor(() => lines().length >= 2, 10_000);
      session.close();

      // then each is one info line: the event stream canceled, the reflection stream canceled
      // or ended (Node reports a reset request either way), and nothing is logged as an error
      const byMethod = new Map(lines().map((l) => [l.method, l]));
      expect(byMethod.get("StreamEvents")).toMatchObject({ code: "canceled", level: 30 });
      expect(byMethod.get("ServerReflectionInfo")).toMatchObject({
        code: expect.stringMatching(/^(canceled|ok)$/),
        level: 30,
      });
      expect(server.logs().filter((l) => Number(l.level) >= 50)).toEqual([]);
      await expectServing(server);
    });
  });
});

/** POSTs a raw body to a path of the server, as a hand-written HTTP client would. */
function post(
  server: ServerProcess,
  path: string,
  contentType: string,
  body: string | Uint8Array,
  headers: Record<string, string> = {},
): Promise<Response> {
  return fetch(`${server.baseUrl}${path}`, {
    method: "POST",
    headers: { "content-type": contentType, ...headers },
    body,
  });
}

async function expectServing(server: ServerProcess): Promise<void> {
  const res = await fetch(`${server.baseUrl}/healthz`);
  expect(res.status).toBe(200);
}

/** Sends one hand-made gRPC request over a raw HTTP/2 session and returns the trailers. */
async function rawGrpcCall(
  baseUrl: string,
  path: string,
  body: Buffer,
): Promise<Record<string, string | string[] | undefined>> {
  const session = http2.connect(baseUrl);
  try {
    return (await rawCall(session, path, "application/grpc+proto", body)).headers as Record<
      string,
      string | string[] | undefined
    >;
  } finally {
    session.close();
  }
}

/** One request on an open HTTP/2 session: its response headers merged with its trailers. */
function rawCall(
  session: http2.ClientHttp2Session,
  path: string,
  contentType: string,
  body: Uint8Array,
): Promise<{ headers: Record<string, string | string[] | number | undefined>; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const stream = session.request({
      ":method": "POST",
      ":path": path,
      "content-type": contentType,
      te: "trailers",
    });
    let headers: Record<string, string | string[] | number | undefined> = {};
    const chunks: Buffer[] = [];
    stream.on("response", (h) => {
      headers = h;
    });
    stream.on("trailers", (t) => {
      headers = { ...headers, ...t };
    });
    stream.on("data", (chunk: Buffer) => chunks.push(chunk));
    stream.on("end", () => resolve({ headers, body: Buffer.concat(chunks) }));
    stream.on("error", reject);
    stream.end(body);
  });
}

/** A gRPC length-prefixed message. */
function grpcFrame(message: Uint8Array): Buffer {
  const frame = Buffer.alloc(5 + message.length);
  frame.writeUInt32BE(message.length, 1);
  frame.set(message, 5);
  return frame;
}
