import { fetchPage, type Page } from "../platform/pagination/page-token.js";
import { UUID_PATTERN } from "../platform/validation/field-checks.js";
import type { AuditEvent } from "./audit.js";
import { validateAuditPage } from "./inputs.js";
import type { AuditStore } from "./store.js";

/** Reads the audit trail; writing happens inside each mutation's own transaction. */
export interface AuditService {
  /** One page, newest first: one tenant's events, or every event when `tenantId` is empty. */
  list(tenantId: string, pageSize: number, pageToken: string): Promise<Page<AuditEvent>>;
}

/** Creates the audit reader over the store. */
export function createAuditService(store: AuditStore): AuditService {
  return {
    async list(rawTenantId, pageSize, pageToken) {
      const tenantId = validateAuditPage(rawTenantId, pageSize);
      return fetchPage({
        scope: `audit/${tenantId ?? "*"}`,
        pageSize,
        pageToken,
        idPattern: UUID_PATTERN,
        fetch: (limit, after) => store.list(tenantId, limit, after),
        cursorOf: (event) => ({ time: event.createTime, id: event.id }),
      });
    },
  };
}
