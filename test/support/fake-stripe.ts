import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";

type StripeObject = Record<string, unknown>;

/** One request the fake received, as Stripe would see it. */
export interface RecordedRequest {
  method: string;
  path: string;
  /** Form parameters, flat as stripe-node encodes them: `items[0][price]`, `metadata[k]`. */
  params: Record<string, string>;
  idempotencyKey: string | undefined;
}

/** A scripted failure for the next request(s) matching a path prefix. */
export type Failure =
  | { drop: true }
  | { status: number; error: { type: string; message: string; code?: string } };

/** A local stand-in for the parts of the Stripe API that Tollgate's provider uses. */
export interface FakeStripe {
  url: string;
  requests: RecordedRequest[];
  subscriptions: Map<string, StripeObject>;
  /** Makes the next `count` requests whose path starts with `pathPrefix` fail as given. */
  fail(pathPrefix: string, failure: Failure, count?: number): void;
  /** Forgets the recorded requests and any failures not yet used. */
  reset(): void;
  /** Sample objects from Stripe's published fixtures, for building events. */
  fixture(name: string): StripeObject;
  close(): Promise<void>;
}

const FIXTURES = JSON.parse(
  readFileSync(new URL("../fixtures/stripe/objects.json", import.meta.url), "utf8"),
).resources as Record<string, StripeObject>;

const DAY = 86_400;

/**
 * Starts the fake: customers, subscriptions (create, retrieve, update, cancel) with Stripe's own
 * object shapes taken from its published fixtures, idempotency keys replayed as Stripe does,
 * Stripe's documented input limits enforced, and failures on demand (error bodies, or a
 * dropped connection).
 */
export async function startFakeStripe(): Promise<FakeStripe> {
  const requests: RecordedRequest[] = [];
  const customers = new Map<string, StripeObject>();
  const subscriptions = new Map<string, StripeObject>();
  const replies = new Map<string, { status: number; body: unknown }>();
  const failures: { prefix: string; failure: Failure; count: number }[] = [];

  const server = http.createServer(async (req, res) => {
    let body = "";
    for await (const chunk of req) body += chunk;
    const url = new URL(req.url ?? "/", "http://fake");
    const params = Object.fromEntries(new URLSearchParams(body));
    const key = req.headers["idempotency-key"] as string | undefined;
    requests.push({ method: req.method ?? "", path: url.pathname, params, idempotencyKey: key });
    const scripted = failures.find((f) => f.count > 0 && url.pathname.startsWith(f.prefix));
    if (scripted) {
      scripted.count--;
      if ("drop" in scripted.failure) {
        req.socket.destroy();
        return;
      }
      return send(res, scripted.failure.status, { error: scripted.failure.error });
    }
    const refused = refuseBeyondLimits(params, key);
    if (refused)
      return send(res, 400, { error: { type: "invalid_request_error", message: refused } });
    const replayKey = key && `${req.method} ${url.pathname} ${key}`;
    if (replayKey && replies.has(replayKey)) {
      const reply = replies.get(replayKey) as { status: number; body: unknown };
      return send(res, reply.status, reply.body);
    }
    const [status, reply] = route(req.method ?? "", url.pathname, params);
    if (replayKey) replies.set(replayKey, { status, body: reply });
    send(res, status, reply);
  });

  const route = (
    method: string,
    path: string,
    params: Record<string, string>,
  ): [number, unknown] => {
    const now = Math.floor(Date.now() / 1000);
    if (method === "POST" && path === "/v1/customers") {
      const metadata = Object.fromEntries(
        Object.entries(params)
          .filter(([k]) => k.startsWith("metadata["))
          .map(([k, v]) => [k.slice(9, -1), v]),
      );
      const customer = {
        ...FIXTURES.customer,
        id: `cus_${randomBytes(7).toString("hex")}`,
        email: params.email ?? null,
        name: params.name ?? null,
        metadata,
        created: now,
      };
      customers.set(customer.id, customer);
      return [200, customer];
    }
    if (method === "POST" && path === "/v1/subscriptions") {
      if (!customers.has(params.customer ?? "")) return notFound("customer", params.customer);
      const trialDays = Number(params.trial_period_days ?? 0);
      const end = trialDays > 0 ? now + trialDays * DAY : now + 30 * DAY;
      const id = `sub_${randomBytes(12).toString("hex")}`;
      const subscription = {
        ...FIXTURES.subscription,
        id,
        customer: params.customer,
        status: trialDays > 0 ? "trialing" : "active",
        created: now,
        billing_cycle_anchor: end,
        trial_start: trialDays > 0 ? now : null,
        trial_end: trialDays > 0 ? end : null,
        cancel_at_period_end: false,
        cancel_at: null,
        canceled_at: null,
        ended_at: null,
        items: {
          ...((FIXTURES.subscription as StripeObject).items as StripeObject),
          data: [item(id, params["items[0][price]"] ?? "", now, end)],
        },
      };
      subscriptions.set(id, subscription);
      return [200, subscription];
    }
    const match = /^\/v1\/subscriptions\/([^/]+)$/.exec(path);
    const subscription = match?.[1] ? subscriptions.get(match[1]) : undefined;
    if (match && subscription === undefined) return notFound("subscription", match[1]);
    if (subscription && method === "GET") return [200, subscription];
    if (subscription && method === "POST") {
      if (subscription.status === "canceled") {
        return [
          400,
          {
            error: {
              type: "invalid_request_error",
              message:
                "A canceled subscription can only update its cancellation_details and metadata.",
            },
          },
        ];
      }
      const current = (
        (subscription.items as StripeObject).data as StripeObject[]
      )[0] as StripeObject;
      if (params["items[0][price]"]) {
        const replaced = item(
          subscription.id as string,
          params["items[0][price]"],
          current.current_period_start as number,
          current.current_period_end as number,
        );
        replaced.id = current.id;
        (subscription.items as StripeObject).data = [replaced];
      }
      if (params.cancel_at_period_end === "true") {
        subscription.cancel_at_period_end = true;
        subscription.cancel_at = current.current_period_end;
      }
      return [200, subscription];
    }
    if (subscription && method === "DELETE") {
      if (subscription.status === "canceled")
        return [400, { error: { type: "invalid_request_error", message: "already canceled" } }];
      Object.assign(subscription, {
        status: "canceled",
        canceled_at: now,
        ended_at: now,
        cancel_at_period_end: false,
      });
      return [200, subscription];
    }
    return [
      404,
      {
        error: {
          type: "invalid_request_error",
          message: `Unrecognized request URL (${method}: ${path})`,
        },
      },
    ];
  };

  server.listen(0, "127.0.0.1");
  await new Promise((resolve) => server.once("listening", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    subscriptions,
    fail(pathPrefix, failure, count = 1) {
      failures.push({ prefix: pathPrefix, failure, count });
    },
    reset() {
      requests.length = 0;
      failures.length = 0;
    },
    fixture: (name) => structuredClone(FIXTURES[name] as StripeObject),
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * Stripe's documented input limits, which the fake enforces as Stripe does (400, nothing
 * created): idempotency keys of at most 255 characters; at most 50 metadata keys, each at most
 * 40 characters and without square brackets, with values of at most 500 characters.
 */
function refuseBeyondLimits(
  params: Record<string, string>,
  idempotencyKey: string | undefined,
): string | undefined {
  if (idempotencyKey !== undefined && idempotencyKey.length > 255) {
    return "Idempotency keys can be at most 255 characters long.";
  }
  const metadata = Object.entries(params)
    .filter(([k]) => k.startsWith("metadata["))
    .map(([k, v]) => [k.slice(9, -1), v] as const);
  if (metadata.length > 50) return "Metadata can have at most 50 keys.";
  for (const [key, value] of metadata) {
    if (key.length > 40) return `Metadata keys can be at most 40 characters long (${key}).`;
    if (/[[\]]/.test(key)) return `Metadata keys cannot contain square brackets (${key}).`;
    if (value.length > 500) return `Metadata values can be at most 500 characters long (${key}).`;
  }
  return undefined;
}

function item(subscription: string, price: string, start: number, end: number): StripeObject {
  const template = (
    ((FIXTURES.subscription as StripeObject).items as StripeObject).data as StripeObject[]
  )[0] as StripeObject;
  return {
    ...structuredClone(template),
    id: `si_${randomBytes(7).toString("hex")}`,
    subscription,
    price: { ...(template.price as StripeObject), id: price },
    current_period_start: start,
    current_period_end: end,
  };
}

function notFound(kind: string, id: string | undefined): [number, unknown] {
  return [
    404,
    {
      error: {
        type: "invalid_request_error",
        code: "resource_missing",
        message: `No such ${kind}: '${id}'`,
      },
    },
  ];
}

function send(res: http.ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, {
    "content-type": "application/json",
    "request-id": `req_${randomBytes(6).toString("hex")}`,
  });
  res.end(JSON.stringify(body));
}
