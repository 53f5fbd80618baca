import { createContextKey, type HandlerContext } from "@connectrpc/connect";

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

/** Who is calling, as domain services see it: recorded by audits, checked against tenants. */
export interface Actor {
  /** An API key prefix, `system` for sweeps, `stripe` for webhooks, `open` without keys. */
  id: string;
  /** Set when the caller may only touch this one tenant (a tenant API key). */
  tenantId: string | undefined;
}

/** The actor of a Connect call, for handlers to pass to domain services. */
export function actorOf(ctx: HandlerContext): Actor {
  const principal = ctx.values.get(kPrincipal);
  return { id: principal.actor, tenantId: principal.tenantId };
}
