/**
 * The quick reference's "Entitlement Enforcer" section: check and record, deny with the reason,
 * and `check_entitlement_or_raise` turning a denial into `EntitlementEnforcementError`.
 */
import {
  checkEntitlementOrRaise,
  createEntitlementEnforcer,
  createTollgateClient,
  DenialReason,
  EntitlementEnforcementError,
} from "@tollgate/client";
import { type ExampleContext, runIfMain } from "./context.js";

export async function main({ baseUrl, apiKey, tenantId }: ExampleContext) {
  const enforcer = createEntitlementEnforcer(createTollgateClient({ baseUrl, apiKey }));

  // check = await enforcer.check_and_record(tenant_id=…, resource_type="executions", quantity=Decimal("1"))
  const check = await enforcer.checkAndRecord(tenantId, "executions", "1");
  if (!check.allowed) throw new Error(check.reason);

  // A FREE tenant has 100 executions a month: use the rest, then one more is refused.
  await enforcer.recordUsageOnly(tenantId, "executions", 99);
  let denied: EntitlementEnforcementError | undefined;
  try {
    checkEntitlementOrRaise(await enforcer.checkAndRecord(tenantId, "executions"));
  } catch (error) {
    // except EntitlementEnforcementError as e: logger.warning(…)
    if (error instanceof EntitlementEnforcementError) denied = error;
    else throw error;
  }
  return {
    firstAllowed: check.allowed,
    denied: denied && {
      resource: denied.resourceType,
      limit: denied.limit,
      used: denied.used,
      reason: denied.denialReason,
      // The enum prints as a number; its name is one lookup away.
      reasonName: DenialReason[denied.denialReason],
    },
  };
}

runIfMain(import.meta.url, main);
