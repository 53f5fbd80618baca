import { createContextKey, type HandlerContext } from "@connectrpc/connect";
import type { Actor } from "../calls/actor.js";
import type { CallBudget } from "../calls/budget.js";

/*
 * What the transport knows about the current call, kept in Connect's context values: set by
 * the interceptors and the HTTP layer, read by handlers through `actorOf` and `budgetOf` so
 * that domain services see only an `Actor` and a `CallBudget`.
 */

/**
 * Who is calling, as established by the authentication interceptor. An admin may do
 * everything; a tenant key may read and record for its own tenant only; `open` is the
 * development mode without keys, where every caller acts as an admin; `none` may do nothing.
 */
export interface Principal {
  role: "admin" | "tenant" | "open" | "none";
  /** The visible prefix of the API key, which the audit trail records as the actor. */
  actor: string;
  /** The only tenant a `tenant` principal may touch (`""`, no tenant, for `none`). */
  tenantId: string | undefined;
}

/**
 * The principal of the current call, set per request by the authentication interceptor. The
 * default may do nothing, so a call that somehow skipped authentication is refused.
 */
export const kPrincipal = createContextKey<Principal>(
  { role: "none", actor: "unauthenticated", tenantId: "" },
  { description: "the authenticated caller" },
);

/** The actor of a Connect call, for handlers to pass to domain services. */
export function actorOf(ctx: HandlerContext): Actor {
  const principal = ctx.values.get(kPrincipal);
  return { id: principal.actor, tenantId: principal.tenantId };
}

/** The budget of a Connect call: its signal, and its deadline from the protocol's timeout. */
export function budgetOf(ctx: HandlerContext): CallBudget {
  const left = ctx.timeoutMs();
  return { signal: ctx.signal, deadline: left === undefined ? undefined : Date.now() + left };
}

/**
 * How many `authorization` headers a request was sent with. Node keeps only the first of
 * repeated `authorization` headers in `headers` (which Connect reads), while a proxy in front
 * may check the last one, so the count has to come from the raw header list. Undefined where
 * no raw headers exist (in-memory transports).
 */
export const kAuthorizationCount = createContextKey<number | undefined>(undefined, {
  description: "how many authorization headers were sent",
});

/** Counts the `authorization` headers of a raw header list (`[name, value, name, value, …]`). */
export function countAuthorizationHeaders(rawHeaders: readonly string[]): number {
  let count = 0;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    if (rawHeaders[i]?.toLowerCase() === "authorization") count++;
  }
  return count;
}
