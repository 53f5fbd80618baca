/** One recorded billing mutation or key change. */
export interface AuditEvent {
  id: string;
  /** An API key prefix, `system` for the server's own sweeps, `stripe` for webhooks. */
  actor: string;
  /** What was done, as `object.verb`, for example `subscription.create`. */
  action: string;
  tenantId: string | undefined;
  target: string;
  requestId: string;
  createTime: Date;
  before: Record<string, unknown> | undefined;
  after: Record<string, unknown> | undefined;
}

/** What a mutation supplies; the store assigns the id. */
export type NewAuditEvent = Omit<AuditEvent, "id">;
