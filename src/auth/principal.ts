import { createContextKey } from "@connectrpc/connect";

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
