import type { Knex } from "knex";
import { newestFirst } from "../platform/pagination/keyset.js";
import type { Cursor } from "../platform/pagination/page-token.js";
import type { AuditEvent, NewAuditEvent } from "./audit.js";
import type { AuditEventRow } from "./rows.js";

/** Queries over `audit_events`. Rows are only inserted, never changed. */
export interface AuditStore {
  /** Inserts within the caller's transaction, so the record and the change commit together. */
  insert(trx: Knex.Transaction, event: NewAuditEvent): Promise<void>;
  /** Events newest first (one tenant's, or all when undefined), strictly after `after`. */
  list(
    tenantId: string | undefined,
    limit: number,
    after: Cursor | undefined,
  ): Promise<AuditEvent[]>;
}

/**
 * The tenant under which admin actions (those about no tenant: API keys, webhook endpoints)
 * are recorded: every audit row names a tenant, so the trail is one table distributed by
 * tenant, and the operator's own rows live together on one shard. Reads show it as none.
 */
export const OPERATOR_TENANT = "00000000-0000-0000-0000-000000000000";

/** Creates the audit store over the given connection. */
export function createAuditStore(knex: Knex): AuditStore {
  return {
    async insert(trx, event) {
      await trx("audit_events").insert({
        actor: event.actor,
        action: event.action,
        tenant_id: event.tenantId ?? OPERATOR_TENANT,
        target: event.target,
        request_id: event.requestId,
        create_time: event.createTime,
        before: event.before === undefined ? null : JSON.stringify(event.before),
        after: event.after === undefined ? null : JSON.stringify(event.after),
      });
    },
    async list(tenantId, limit, after) {
      const query = newestFirst(knex("audit_events"), limit, after);
      if (tenantId !== undefined) query.where({ tenant_id: tenantId });
      return (await query).map(fromDbAuditEvent);
    },
  };
}

function fromDbAuditEvent(row: AuditEventRow): AuditEvent {
  return {
    id: row.id,
    actor: row.actor,
    action: row.action,
    tenantId: row.tenant_id === OPERATOR_TENANT ? undefined : row.tenant_id,
    target: row.target,
    requestId: row.request_id,
    createTime: row.create_time,
    before: row.before ?? undefined,
    after: row.after ?? undefined,
  };
}
