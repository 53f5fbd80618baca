import type { ProrationBehavior } from "../billing/billing.js";
import { PRORATION_BEHAVIORS } from "../billing/inputs.js";
import type { Plan, PlanCatalog } from "../catalog/catalog.js";
import { NotFoundError } from "../platform/errors/domain-error.js";
import { createFieldChecks } from "../platform/validation/field-checks.js";
import { checkObjectId, checkRequestId } from "../platform/validation/field-rules.js";

/** MigrateSubscriptions as the wire gives it; enums as names, "" when unset. */
export interface RawMigration {
  planId: string;
  fromVersion: number;
  toVersion: number;
  effective: string;
  prorationBehavior: string;
  dryRun: boolean;
  requestId: string;
  pageSize: number;
  pageToken: string;
}

/** A migration request, checked: both versions exist and the new one can be subscribed to. */
export interface MigrationInput {
  from: Plan;
  to: Plan;
  effective: "immediately" | "period_end";
  prorationBehavior: ProrationBehavior;
  dryRun: boolean;
  requestId: string;
  pageSize: number;
  pageToken: string;
}

/** Subscriptions one call handles: each may call the provider and write a transaction. */
export const MIGRATION_PAGE = { default: 100, max: 500 };

/** Checks a migration request, every problem at once. */
export function validateMigration(catalog: PlanCatalog, raw: RawMigration): MigrationInput {
  const checks = createFieldChecks();
  const known = catalog.allVersions.some((p) => p.id === raw.planId);
  if (checkObjectId(checks, "plan_id", raw.planId)) {
    checks.check(known, "plan_id", "is not a plan of any catalog version");
  }
  const from = known ? catalog.planVersion(raw.planId, raw.fromVersion) : undefined;
  const to = known ? catalog.planVersion(raw.planId, raw.toVersion) : undefined;
  const versions = catalog.allVersions
    .filter((p) => p.id === raw.planId)
    .map((p) => p.version)
    .sort((a, b) => a - b)
    .join(", ");
  if (checks.check(raw.fromVersion >= 1, "from_version", "is required (1 or more)") && known) {
    checks.check(
      from !== undefined,
      "from_version",
      `is not a version of ${raw.planId}; it has ${versions}`,
    );
  }
  if (checks.check(raw.toVersion >= 1, "to_version", "is required (1 or more)") && known) {
    if (
      checks.check(
        to !== undefined,
        "to_version",
        `is not a version of ${raw.planId}; it has ${versions}`,
      )
    ) {
      checks.check(
        raw.toVersion !== raw.fromVersion,
        "to_version",
        "must differ from from_version",
      );
      checks.check(
        to?.priceId !== undefined,
        "to_version",
        "has no price_id, so no subscription can be on it",
      );
    }
  }
  checks.check(
    raw.effective === "immediately" || raw.effective === "period_end",
    "effective",
    "is required: MIGRATION_EFFECTIVE_IMMEDIATELY or MIGRATION_EFFECTIVE_PERIOD_END",
  );
  const prorationBehavior = raw.prorationBehavior || "create_prorations";
  checks.check(
    PRORATION_BEHAVIORS.includes(prorationBehavior),
    "proration_behavior",
    "must be a ProrationBehavior value",
  );
  if (!raw.dryRun) {
    checks.check(raw.requestId !== "", "request_id", "is required unless dry_run is set");
  }
  checkRequestId(checks, "request_id", raw.requestId);
  checks.intRange("page_size", raw.pageSize, 0, MIGRATION_PAGE.max);
  checks.throwIfAny();
  return {
    from: from as Plan,
    to: to as Plan,
    effective: raw.effective as MigrationInput["effective"],
    prorationBehavior: prorationBehavior as ProrationBehavior,
    dryRun: raw.dryRun,
    requestId: raw.requestId,
    pageSize: raw.pageSize || MIGRATION_PAGE.default,
    pageToken: raw.pageToken,
  };
}

/** The plan version GetPlan names; 0 is the current one. */
export function findPlanVersion(catalog: PlanCatalog, planId: string, version: number): Plan {
  const checks = createFieldChecks();
  checkObjectId(checks, "plan_id", planId);
  checks.check(version >= 0, "version", "must be 0 (the current version) or more");
  checks.throwIfAny();
  const plan = catalog.planVersion(planId, version === 0 ? undefined : version);
  if (plan === undefined) {
    throw new NotFoundError(
      version === 0
        ? `plan ${planId} is not in the catalog`
        : `plan ${planId} has no version ${version}`,
    );
  }
  return plan;
}
