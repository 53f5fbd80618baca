import { MAX_PAGE_SIZE } from "../platform/pagination/page-token.js";
import { createFieldChecks } from "../platform/validation/field-checks.js";

/**
 * ListAuditEvents: an optional tenant and the page size, every problem at once. Returns the
 * tenant in canonical lower case, undefined for every tenant.
 */
export function validateAuditPage(rawTenantId: string, pageSize: number): string | undefined {
  const checks = createFieldChecks();
  if (rawTenantId !== "") checks.uuid("tenant_id", rawTenantId);
  checks.intRange("page_size", pageSize, 0, MAX_PAGE_SIZE);
  checks.throwIfAny();
  return rawTenantId === "" ? undefined : rawTenantId.toLowerCase();
}
