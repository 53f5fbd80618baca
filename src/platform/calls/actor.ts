/** Who is calling, as domain services see it: recorded by audits, checked against tenants. */
export interface Actor {
  /** An API key prefix, `system` for sweeps, `stripe` for webhooks, `open` without keys. */
  id: string;
  /** Set when the caller may only touch this one tenant (a tenant API key). */
  tenantId: string | undefined;
}
