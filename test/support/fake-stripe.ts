import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { type StripePriceObject, stripeLineAmount } from "./stripe-pricing.js";

type StripeObject = Record<string, unknown>;

/** One request the fake received, as Stripe would see it. */
export interface RecordedRequest {
  method: string;
  path: string;
  /** Form parameters, flat as stripe-node encodes them: `items[0][price]`, `metadata[k]`. */
  params: Record<string, string>;
  idempotencyKey: string | undefined;
  /** When it arrived (milliseconds since the epoch). */
  time: number;
}

/** A scripted failure for the next request(s) matching a path prefix. */
export type Failure =
  | { drop: true }
  /** Answers normally, but only after this long: a slow Stripe. */
  | { delayMs: number }
  | { status: number; error: { type: string; message: string; code?: string } };

/** One meter event as the fake received it, accepted or not. */
export interface ReceivedMeterEvent {
  identifier: string;
  eventName: string;
  customerId: string;
  value: string;
  /** Seconds since the epoch. */
  timestamp: number;
  via: "v1" | "v2";
  /** False when the fake refused it (a duplicate identifier, or an invalid event). */
  accepted: boolean;
}

/**
 * A metered price: its meter and how it prices the meter's total, either as the units its first
 * (free) tier covers and the price beyond, or as a Stripe price's pricing fields.
 */
export type FakeMeteredPrice =
  | {
      eventName: string;
      included: number;
      /** Minor units per unit beyond `included`, for example `"0.6"` (cents). */
      unitAmountDecimal: string;
    }
  | { eventName: string; price: StripePriceObject };

/** A price the fake holds: configured, or created through `POST /v1/prices`. */
interface HeldPrice {
  /** The meter's event name; undefined for a licensed price. */
  eventName: string | undefined;
  object: StripeObject & StripePriceObject;
}

/** An invoice item added through `POST /v1/invoiceitems`. */
export interface FakeInvoiceItem {
  id: string;
  customer: string;
  invoice: string;
  amount: number;
  currency: string;
  description: string;
}

/** Prices the fake knows, for subscription items and invoice previews. */
export interface FakeStripeOptions {
  /** Licensed prices: minor units per period. */
  unitAmounts?: Record<string, number>;
  metered?: Record<string, FakeMeteredPrice>;
}

/** A local stand-in for the parts of the Stripe API that Tollgate's provider uses. */
export interface FakeStripe {
  url: string;
  requests: RecordedRequest[];
  subscriptions: Map<string, StripeObject>;
  /** Every meter event received, in order, duplicates included. */
  meterEvents: ReceivedMeterEvent[];
  /** Invoice items created, once per idempotency key as Stripe does. */
  invoiceItems: FakeInvoiceItem[];
  /** A price the fake holds, configured or created by the caller. */
  price(id: string): StripeObject | undefined;
  /** Sum of the accepted values of one customer's meter, as Stripe would bill it. */
  meterTotal(customerId: string, eventName: string): number;
  /**
   * Runs before each meter-event request is answered (after its events are recorded), so a
   * test can act between Stripe's processing and the caller's seeing the answer.
   */
  beforeMeterAnswer: (() => Promise<void>) | undefined;
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
export async function startFakeStripe(options: FakeStripeOptions = {}): Promise<FakeStripe> {
  const requests: RecordedRequest[] = [];
  const meterEvents: ReceivedMeterEvent[] = [];
  const sessions = new Set<string>();
  const invoiceItems: FakeInvoiceItem[] = [];
  const prices = new Map<string, HeldPrice>();
  const meterId = (eventName: string) => `mtr_${eventName}`;
  const priceObject = (
    id: string,
    fields: StripePriceObject & Record<string, unknown>,
  ): HeldPrice["object"] => ({
    object: "price",
    id,
    active: true,
    currency: "usd",
    product: "prod_x",
    lookup_key: null,
    metadata: {},
    transform_quantity: null,
    tiers_mode: null,
    unit_amount_decimal: null,
    ...fields,
  });
  for (const [id, price] of Object.entries(options.metered ?? {})) {
    const pricing: StripePriceObject =
      "price" in price
        ? price.price
        : {
            billing_scheme: "tiered",
            tiers_mode: "graduated",
            tiers: [
              { up_to: price.included, unit_amount_decimal: "0", flat_amount_decimal: "0" },
              {
                up_to: null,
                unit_amount_decimal: price.unitAmountDecimal,
                flat_amount_decimal: "0",
              },
            ],
          };
    const recurring = { interval: "month", usage_type: "metered", meter: meterId(price.eventName) };
    prices.set(id, {
      eventName: price.eventName,
      object: priceObject(id, { ...pricing, recurring }),
    });
  }
  for (const [id, amount] of Object.entries(options.unitAmounts ?? {})) {
    const recurring = { interval: "month", usage_type: "licensed", meter: null };
    prices.set(id, {
      eventName: undefined,
      object: priceObject(id, {
        billing_scheme: "per_unit",
        unit_amount_decimal: String(amount),
        recurring,
      }),
    });
  }
  // A price as Stripe creates it from its form parameters (tiers, transform_quantity, meter).
  const createPrice = (params: Record<string, string>): StripeObject => {
    const tiers: NonNullable<StripePriceObject["tiers"]> = [];
    for (const [key, value] of Object.entries(params)) {
      const match = /^tiers\[(\d+)\]\[(\w+)\]$/.exec(key);
      if (!match) continue;
      const n = Number(match[1]);
      tiers[n] = tiers[n] ?? { up_to: null };
      const tier = tiers[n];
      if (match[2] === "up_to") tier.up_to = value === "inf" ? null : Number(value);
      else if (match[2] === "unit_amount_decimal") tier.unit_amount_decimal = value;
      else if (match[2] === "flat_amount_decimal") tier.flat_amount_decimal = value;
    }
    const meter = params["recurring[meter]"] ?? null;
    const id = `price_${randomBytes(8).toString("hex")}`;
    const object = priceObject(id, {
      currency: params.currency,
      product: params.product,
      lookup_key: params.lookup_key ?? null,
      metadata: Object.fromEntries(
        Object.entries(params)
          .filter(([k]) => k.startsWith("metadata["))
          .map(([k, v]) => [k.slice(9, -1), v]),
      ),
      billing_scheme: params.billing_scheme === "tiered" ? "tiered" : "per_unit",
      tiers_mode:
        params.tiers_mode === "volume" ? "volume" : params.tiers_mode ? "graduated" : null,
      tiers: tiers.length > 0 ? tiers : undefined,
      unit_amount_decimal: params.unit_amount_decimal ?? null,
      transform_quantity: params["transform_quantity[divide_by]"]
        ? {
            divide_by: Number(params["transform_quantity[divide_by]"]),
            round: params["transform_quantity[round]"] === "down" ? "down" : "up",
          }
        : null,
      recurring: {
        interval: params["recurring[interval]"],
        usage_type: params["recurring[usage_type]"] ?? "licensed",
        meter,
      },
    });
    prices.set(id, {
      eventName: meter?.replace(/^mtr_/, ""),
      object,
    });
    return object;
  };
  const customers = new Map<string, StripeObject>();
  const subscriptions = new Map<string, StripeObject>();
  const replies = new Map<string, { status: number; body: unknown }>();
  const failures: { prefix: string; failure: Failure; count: number }[] = [];

  const server = http.createServer(async (req, res) => {
    let body = "";
    for await (const chunk of req) body += chunk;
    const url = new URL(req.url ?? "/", "http://fake");
    const json = url.pathname.startsWith("/v2/");
    const params: Record<string, string> = json
      ? {}
      : Object.fromEntries(new URLSearchParams(body));
    const key = req.headers["idempotency-key"] as string | undefined;
    requests.push({
      method: req.method ?? "",
      path: url.pathname,
      params,
      idempotencyKey: key,
      time: Date.now(),
    });
    const scripted = failures.find((f) => f.count > 0 && url.pathname.startsWith(f.prefix));
    if (scripted) {
      scripted.count--;
      if ("drop" in scripted.failure) {
        req.socket.destroy();
        return;
      }
      if ("delayMs" in scripted.failure) {
        await new Promise((resolve) =>
          setTimeout(resolve, (scripted.failure as { delayMs: number }).delayMs),
        );
      } else {
        return send(res, scripted.failure.status, { error: scripted.failure.error });
      }
    }
    const refused = refuseBeyondLimits(params, key);
    if (refused)
      return send(res, 400, { error: { type: "invalid_request_error", message: refused } });
    const replayKey = key && `${req.method} ${url.pathname} ${key}`;
    if (replayKey && replies.has(replayKey)) {
      const reply = replies.get(replayKey) as { status: number; body: unknown };
      return send(res, reply.status, reply.body);
    }
    if (json) {
      const [status, reply] = routeV2(url.pathname, body, req.headers.authorization ?? "");
      if (url.pathname.endsWith("meter_event_stream")) await fake.beforeMeterAnswer?.();
      return send(res, status, reply);
    }
    const [status, reply] = route(req.method ?? "", url.pathname, params);
    if (replayKey) replies.set(replayKey, { status, body: reply });
    if (url.pathname === "/v1/billing/meter_events") await fake.beforeMeterAnswer?.();
    send(res, status, reply);
  });

  // Records one meter event as Stripe validates it: known customer, whole non-zero value
  // (negative values correct usage reported before, as Stripe's meter docs allow), timestamp within the past 35 days and at most 5 minutes ahead, identifier not seen before.
  const receiveMeterEvent = (event: Omit<ReceivedMeterEvent, "accepted">): string | undefined => {
    const now = Math.floor(Date.now() / 1000);
    let refused: string | undefined;
    if (!customers.has(event.customerId)) refused = `No such customer: '${event.customerId}'`;
    else if (!/^-?[1-9][0-9]*$/.test(event.value)) refused = "value must be a whole number";
    else if (event.timestamp < now - 35 * DAY || event.timestamp > now + 300) {
      refused = "timestamp must be within the past 35 days and at most 5 minutes ahead";
    } else if (meterEvents.some((e) => e.accepted && e.identifier === event.identifier)) {
      refused = `An event already exists with identifier ${event.identifier}.`;
    }
    meterEvents.push({ ...event, accepted: refused === undefined });
    return refused;
  };

  const routeV2 = (path: string, body: string, authorization: string): [number, unknown] => {
    const now = Date.now();
    if (path === "/v2/billing/meter_event_session") {
      const token = `mes_${randomBytes(8).toString("hex")}`;
      sessions.add(token);
      return [
        200,
        {
          object: "v2.billing.meter_event_session",
          id: `mes_${randomBytes(6).toString("hex")}`,
          authentication_token: token,
          created: new Date(now).toISOString(),
          expires_at: new Date(now + 15 * 60_000).toISOString(),
          livemode: false,
        },
      ];
    }
    if (path === "/v2/billing/meter_event_stream") {
      if (!sessions.has(authorization.replace(/^Bearer /, ""))) {
        return [401, { error: { type: "temporary_session_expired", message: "expired" } }];
      }
      const { events } = JSON.parse(body) as {
        events: {
          identifier: string;
          event_name: string;
          timestamp: string;
          payload: { stripe_customer_id: string; value: string };
        }[];
      };
      // The stream validates asynchronously: the call succeeds, refusals surface later.
      for (const e of events) {
        receiveMeterEvent({
          identifier: e.identifier,
          eventName: e.event_name,
          customerId: e.payload.stripe_customer_id,
          value: e.payload.value,
          timestamp: Math.floor(Date.parse(e.timestamp) / 1000),
          via: "v2",
        });
      }
      return [200, {}];
    }
    return [404, { error: { type: "invalid_request_error", message: `Unrecognized ${path}` } }];
  };

  const meterTotal = (customerId: string, eventName: string) =>
    meterEvents
      .filter((e) => e.accepted && e.customerId === customerId && e.eventName === eventName)
      .reduce((sum, e) => sum + Number(e.value), 0);

  const itemsOf = (subscription: StripeObject) =>
    (subscription.items as StripeObject).data as StripeObject[];

  // The preview of a subscription's next invoice: each licensed item's price, and each
  // metered item's usage beyond its free tier, in minor units.
  const preview = (subscription: StripeObject): [number, unknown] => {
    const lines = itemsOf(subscription).map((entry) => {
      const price = (entry.price as StripeObject).id as string;
      const held = prices.get(price);
      const quantity = held?.eventName
        ? meterTotal(subscription.customer as string, held.eventName)
        : 1;
      const amount = held ? stripeLineAmount(held.object, quantity).toNumber() : 0;
      return {
        object: "line_item",
        id: `il_${randomBytes(6).toString("hex")}`,
        description: `${quantity} × ${price}`,
        amount,
        currency: "usd",
        quantity,
        quantity_decimal: String(quantity),
        pricing: {
          type: "price_details",
          price_details: { price, product: "prod_x" },
          unit_amount_decimal: held?.object.unit_amount_decimal ?? null,
        },
        period: { start: entry.current_period_start, end: entry.current_period_end },
      };
    });
    const total = lines.reduce((sum, l) => sum + l.amount, 0);
    const first = itemsOf(subscription)[0] as StripeObject;
    return [
      200,
      {
        object: "invoice",
        id: null,
        customer: subscription.customer,
        currency: "usd",
        period_start: first.current_period_start,
        period_end: first.current_period_end,
        lines: { object: "list", data: lines, has_more: false, url: "/v1/invoices/upcoming/lines" },
        subtotal: total,
        total,
      },
    ];
  };

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
          data: listed(params).map((entry) =>
            item(id, entry.price ?? "", now, end, prices.get(entry.price ?? "")?.object),
          ),
        },
      };
      subscriptions.set(id, subscription);
      return [200, subscription];
    }
    if (method === "POST" && path === "/v1/billing/meter_events") {
      const refused = receiveMeterEvent({
        identifier: params.identifier ?? "",
        eventName: params.event_name ?? "",
        customerId: params["payload[stripe_customer_id]"] ?? "",
        value: params["payload[value]"] ?? "",
        timestamp: Number(params.timestamp ?? now),
        via: "v1",
      });
      if (refused) return [400, { error: { type: "invalid_request_error", message: refused } }];
      return [
        200,
        {
          object: "billing.meter_event",
          event_name: params.event_name,
          identifier: params.identifier,
          livemode: false,
          created: now,
          payload: {
            stripe_customer_id: params["payload[stripe_customer_id]"],
            value: params["payload[value]"],
          },
          timestamp: Number(params.timestamp ?? now),
        },
      ];
    }
    if (method === "POST" && path === "/v1/prices") return [200, createPrice(params)];
    if (method === "GET" && path === "/v1/prices") {
      const keys = Object.entries(params)
        .filter(([k]) => k.startsWith("lookup_keys["))
        .map(([, v]) => v);
      const data = [...prices.values()]
        .map((p) => p.object)
        .filter((p) => keys.includes(p.lookup_key as string));
      return [200, { object: "list", data, has_more: false, url: "/v1/prices" }];
    }
    const priceMatch = /^\/v1\/prices\/([^/]+)$/.exec(path);
    if (method === "GET" && priceMatch) {
      const held = prices.get(priceMatch[1] as string);
      return held ? [200, held.object] : notFound("price", priceMatch[1]);
    }
    if (method === "POST" && path === "/v1/invoiceitems") {
      const created: FakeInvoiceItem = {
        id: `ii_${randomBytes(7).toString("hex")}`,
        customer: params.customer ?? "",
        invoice: params.invoice ?? "",
        amount: Number(params.amount),
        currency: params.currency ?? "",
        description: params.description ?? "",
      };
      invoiceItems.push(created);
      return [200, { object: "invoiceitem", ...created }];
    }
    if (method === "POST" && path === "/v1/invoices/create_preview") {
      const previewed = subscriptions.get(params.subscription ?? "");
      if (previewed === undefined) return notFound("subscription", params.subscription);
      return preview(previewed);
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
      const current = itemsOf(subscription)[0] as StripeObject;
      let items = itemsOf(subscription);
      for (const change of listed(params)) {
        if (change.id !== undefined && change.deleted === "true") {
          items = items.filter((entry) => entry.id !== change.id);
          continue;
        }
        const replaced = item(
          subscription.id as string,
          change.price ?? "",
          current.current_period_start as number,
          current.current_period_end as number,
          prices.get(change.price ?? "")?.object,
        );
        if (change.id === undefined) {
          items = [...items, replaced];
        } else {
          replaced.id = change.id;
          items = items.map((entry) => (entry.id === change.id ? replaced : entry));
        }
      }
      (subscription.items as StripeObject).data = items;
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
  const fake: FakeStripe = {
    url: `http://127.0.0.1:${port}`,
    requests,
    subscriptions,
    meterEvents,
    invoiceItems,
    price: (id) => prices.get(id)?.object,
    meterTotal,
    beforeMeterAnswer: undefined,
    fail(pathPrefix, failure, count = 1) {
      failures.push({ prefix: pathPrefix, failure, count });
    },
    reset() {
      requests.length = 0;
      failures.length = 0;
      meterEvents.length = 0;
      invoiceItems.length = 0;
    },
    fixture: (name) => structuredClone(FIXTURES[name] as StripeObject),
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  return fake;
}

/** The `items[n][…]` form parameters, one object per n in order. */
function listed(params: Record<string, string>): Record<string, string>[] {
  const items: Record<string, string>[] = [];
  for (const [key, value] of Object.entries(params)) {
    const match = /^items\[(\d+)\]\[(\w+)\]$/.exec(key);
    if (!match) continue;
    const n = Number(match[1]);
    items[n] = { ...items[n], [match[2] as string]: value };
  }
  return items.filter((entry) => entry !== undefined);
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

function item(
  subscription: string,
  price: string,
  start: number,
  end: number,
  held: StripeObject | undefined,
): StripeObject {
  const template = (
    ((FIXTURES.subscription as StripeObject).items as StripeObject).data as StripeObject[]
  )[0] as StripeObject;
  const templatePrice = template.price as StripeObject;
  return {
    ...structuredClone(template),
    id: `si_${randomBytes(7).toString("hex")}`,
    subscription,
    price: {
      ...templatePrice,
      id: price,
      recurring: { ...(templatePrice.recurring as StripeObject), usage_type: "licensed" },
      ...held,
    },
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

/**
 * The environment of a server that bills through `stripe`: the provider, test keys (the
 * webhook secret a fresh random one unless given) and the fake's address.
 */
export function stripeEnv(
  stripe: FakeStripe,
  webhookSecret = `whsec_${randomBytes(16).toString("hex")}`,
): Record<string, string> {
  return {
    BILLING_PROVIDER: "stripe",
    STRIPE_SECRET_KEY: "sk_test_tollgate",
    STRIPE_WEBHOOK_SECRET: webhookSecret,
    STRIPE_API_URL: stripe.url,
  };
}
