/**
 * The quick reference's "Common Patterns": check before an action and record after it, and
 * estimate-and-adjust done safely with a reservation, which holds the estimate against the limit
 * until the real amount is known.
 */
import { createEntitlementEnforcer, createTollgateClient } from "@tollgate/client";
import { type ExampleContext, runIfMain } from "./context.js";

export async function main({ baseUrl, apiKey, tenantId }: ExampleContext) {
  const enforcer = createEntitlementEnforcer(createTollgateClient({ baseUrl, apiKey }));

  // Check before action: check_only, do the work, then record_usage_only.
  const check = await enforcer.checkOnly(tenantId, "executions");
  if (!check.allowed) return { error: check.reason };
  const result = "workflow result"; // await execute_workflow(workflow_id)
  const afterRecord = await enforcer.recordUsageOnly(tenantId, "executions", "1");

  // Estimate and adjust: hold the estimate, run the LLM call, commit what it really used.
  const prompt = "summarise the quarterly usage report for the finance team";
  const estimatedTokens = prompt.split(" ").length * 2;
  const hold = await enforcer.reserve(tenantId, "tokens", estimatedTokens, { ttlSeconds: 60 });
  if (!hold.allowed) return { error: hold.reason };
  const actualTokens = 17; // response.usage.total_tokens
  const committed = await enforcer.commit(hold.reservationId, actualTokens);

  return {
    result,
    executionsUsed: afterRecord?.used,
    estimatedTokens,
    held: hold.entitlement?.reserved,
    committedTokens: committed.reservation?.committedQuantity,
    tokensUsed: committed.entitlement?.used,
  };
}

runIfMain(import.meta.url, main);
