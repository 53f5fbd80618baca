import type { DescService } from "@bufbuild/protobuf";
import {
  type Client,
  Code,
  ConnectError,
  createClient,
  type Interceptor,
} from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-web";
import { BillingService } from "../../gen/tollgate/v1/billing_service_pb.js";
import { EntitlementService } from "../../gen/tollgate/v1/entitlement_service_pb.js";
import { EventService } from "../../gen/tollgate/v1/event_service_pb.js";
import { UsageService } from "../../gen/tollgate/v1/usage_service_pb.js";

// sessionStorage, not localStorage: the key is gone when the tab closes, and there are no
// cookies, so no other site can make this browser act with it.
const KEY_ITEM = "tollgate.apiKey";

/** The API key of this tab, if the operator signed in. */
export function storedKey(): string | undefined {
  return sessionStorage.getItem(KEY_ITEM) ?? undefined;
}

export function storeKey(key: string | undefined): void {
  if (key === undefined) sessionStorage.removeItem(KEY_ITEM);
  else sessionStorage.setItem(KEY_ITEM, key);
}

/** The four public services, called over the Connect protocol like any other client. */
export interface Api {
  billing: Client<typeof BillingService>;
  entitlements: Client<typeof EntitlementService>;
  usage: Client<typeof UsageService>;
  events: Client<typeof EventService>;
}

/** Clients that send `key` as the bearer token (none in open mode). */
export function createApi(key: string | undefined): Api {
  const bearer: Interceptor = (next) => (req) => {
    if (key !== undefined) req.header.set("authorization", `Bearer ${key}`);
    return next(req);
  };
  const transport = createConnectTransport({
    baseUrl: window.location.origin,
    interceptors: [bearer],
    // A support call should not hang on a stuck request.
    defaultTimeoutMs: 15_000,
  });
  const client = <S extends DescService>(service: S) => createClient(service, transport);
  return {
    billing: client(BillingService),
    entitlements: client(EntitlementService),
    usage: client(UsageService),
    events: client(EventService),
  };
}

/** The server's message for a failed call, with its code, as an operator should read it. */
export function describeError(error: unknown): string {
  const connect = ConnectError.from(error);
  return `${Code[connect.code]}: ${connect.rawMessage}`;
}

/** Whether a failed call failed with `code`. */
export function hasCode(error: unknown, code: Code): boolean {
  return ConnectError.from(error).code === code;
}

/** A call's answer or its error, so one failed section does not fail a whole page. */
export type Settled<T> = { ok: true; value: T } | { ok: false; error: unknown };

export function settle<T>(call: Promise<T>): Promise<Settled<T>> {
  return call.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );
}

/** The error of a settled call, for a section's error note; undefined when it succeeded. */
export function failureOf(settled: Settled<unknown>): unknown {
  return settled.ok ? undefined : settled.error;
}
