import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import {
  BillingService as BillingServiceDesc,
  MigrationEffective,
  MigrationOutcome,
  type TenantMigration as TenantMigrationMessage,
  TenantMigrationSchema,
} from "../../gen/tollgate/v1/billing_service_pb.js";
import { fromProtoProration, toProtoPlan, toProtoPlanLimit } from "../billing/rpc.js";
import type { PlanCatalog } from "../catalog/catalog.js";
import { minorUnitDigits } from "../catalog/money.js";
import { handlersOf, type ServiceHandlers } from "../platform/server/module.js";
import { actorOf } from "../platform/server/request-context.js";
import { findPlanVersion } from "./inputs.js";
import type { MigrationService, TenantMigration } from "./migrations.js";

const EFFECTIVE_FROM_PROTO: Record<number, string> = {
  [MigrationEffective.IMMEDIATELY]: "immediately",
  [MigrationEffective.PERIOD_END]: "period_end",
};

const OUTCOME_TO_PROTO: Record<TenantMigration["outcome"], MigrationOutcome> = {
  previewed: MigrationOutcome.PREVIEWED,
  applied: MigrationOutcome.APPLIED,
  scheduled: MigrationOutcome.SCHEDULED,
};

/**
 * The handlers of plan versions and migrations, which the proto puts in
 * `tollgate.v1.BillingService`: proto ↔ domain mapping and nothing else.
 */
export function createPlanRpc(catalog: PlanCatalog, migrations: MigrationService): ServiceHandlers {
  return handlersOf(BillingServiceDesc, {
    getPlan(req) {
      return { plan: toProtoPlan(findPlanVersion(catalog, req.planId, req.version)) };
    },
    async migrateSubscriptions(req, ctx) {
      const result = await migrations.migrate(actorOf(ctx), {
        planId: req.planId,
        fromVersion: req.fromVersion,
        toVersion: req.toVersion,
        effective: EFFECTIVE_FROM_PROTO[req.effective] ?? "",
        prorationBehavior: fromProtoProration(req.prorationBehavior),
        dryRun: req.dryRun,
        requestId: req.requestId,
        pageSize: req.pageSize,
        pageToken: req.pageToken,
      });
      return {
        migrations: result.migrations.map(toProtoMigration),
        nextPageToken: result.nextPageToken,
      };
    },
  });
}

function toProtoMigration(migration: TenantMigration): TenantMigrationMessage {
  const { from, to } = migration;
  const money = (amount: { toFixed(digits: number): string }) =>
    amount.toFixed(minorUnitDigits(to.currency));
  return create(TenantMigrationSchema, {
    tenantId: migration.tenantId,
    subscriptionId: migration.subscriptionId,
    fromVersion: from.version,
    toVersion: to.version,
    limitChanges: migration.limitChanges.map((change) => ({
      counter: change.counter,
      before: change.before && toProtoPlanLimit(change.before),
      after: change.after && toProtoPlanLimit(change.after),
    })),
    unitAmountBefore: from.unitAmount?.toFixed(2) ?? "",
    unitAmountAfter: to.unitAmount?.toFixed(2) ?? "",
    currency: to.currency,
    invoiceTotalBefore: money(migration.invoiceBefore),
    invoiceTotalAfter: money(migration.invoiceAfter),
    invoiceDifference: money(migration.invoiceAfter.minus(migration.invoiceBefore)),
    effectiveTime: timestampFromDate(migration.effectiveTime),
    outcome: OUTCOME_TO_PROTO[migration.outcome],
  });
}
