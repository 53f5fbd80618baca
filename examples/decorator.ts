/**
 * The quick reference's "Decorator Usage": `@require_entitlement("executions", quantity=…)`,
 * as a standard TypeScript method decorator (the enforcer comes from `this.enforcer`, like
 * the seed's `enforcer=None` parameter) and as a plain function wrapper.
 */
import {
  createEntitlementEnforcer,
  createTollgateClient,
  EntitlementEnforcementError,
  type EntitlementEnforcer,
  requireEntitlement,
} from "@tollgate/client";
import { type ExampleContext, runIfMain } from "./context.js";

class Workflows {
  runs = 0;
  constructor(readonly enforcer: EntitlementEnforcer) {}

  @requireEntitlement("executions", { quantity: 1 })
  async executeWorkflow(tenantId: string): Promise<string> {
    this.runs++;
    return `ran for ${tenantId}`;
  }
}

export async function main({ baseUrl, apiKey, tenantId }: ExampleContext) {
  const enforcer = createEntitlementEnforcer(createTollgateClient({ baseUrl, apiKey }));
  const workflows = new Workflows(enforcer);

  // The wrapper form, for plain functions: each call needs 2 agents, FREE's whole allowance,
  // so the second call is refused before the function runs.
  const startAgents = requireEntitlement("agents", { quantity: 2, enforcer })(
    async (tenant: string) => `agents started for ${tenant}`,
  );

  const first = await workflows.executeWorkflow(tenantId);
  const agents = await startAgents(tenantId);
  const refused = await startAgents(tenantId).catch((error: unknown) => error);
  return {
    first,
    runs: workflows.runs,
    agents,
    refused: refused instanceof EntitlementEnforcementError ? refused.resourceType : undefined,
  };
}

runIfMain(import.meta.url, main);
