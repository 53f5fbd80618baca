import type { Knex } from "knex";
import * as auditEvents from "./0001_audit_events.js";
import * as billing from "./0002_billing.js";
import * as apiKeys from "./0003_api_keys.js";
import * as entitlements from "./0004_entitlements.js";
import * as usageEvents from "./0005_usage_events.js";
import * as stripeEvents from "./0006_stripe_events.js";
import * as admissionBatches from "./0007_admission_batches.js";
import * as meterReports from "./0008_meter_reports.js";
import * as grantsEvents from "./0009_grants_events.js";
import * as customerDirectory from "./0010_customer_directory.js";
import * as installedFunctions from "./0011_installed_functions.js";
import * as tenantKeys from "./0012_tenant_keys.js";
import * as meters from "./0013_meters.js";
import * as corrections from "./0014_corrections.js";
import * as pricing from "./0015_pricing.js";
import * as features from "./0016_features.js";
import * as rateWindows from "./0017_rate_windows.js";
import * as planVersions from "./0018_plan_versions.js";

/** A schema change, applied once in name order and recorded in `knex_migrations`. */
export interface Migration {
  up(knex: Knex): Promise<void>;
  down(knex: Knex): Promise<void>;
}

const MIGRATIONS: Record<string, Migration> = {
  "0001_audit_events": auditEvents,
  "0002_billing": billing,
  "0003_api_keys": apiKeys,
  "0004_entitlements": entitlements,
  "0005_usage_events": usageEvents,
  "0006_stripe_events": stripeEvents,
  "0007_admission_batches": admissionBatches,
  "0008_meter_reports": meterReports,
  "0009_grants_events": grantsEvents,
  "0010_customer_directory": customerDirectory,
  "0011_installed_functions": installedFunctions,
  "0012_tenant_keys": tenantKeys,
  "0013_meters": meters,
  "0014_corrections": corrections,
  "0015_pricing": pricing,
  "0016_features": features,
  "0017_rate_windows": rateWindows,
  "0018_plan_versions": planVersions,
};

/**
 * Migrations are imported modules rather than files knex finds on disk, so they work the same
 * from TypeScript sources (tests), compiled output and a container image.
 */
export const migrationSource: Knex.MigrationSource<string> = {
  getMigrations: async () => Object.keys(MIGRATIONS).sort(),
  getMigrationName: (name) => name,
  getMigration: async (name) => {
    const migration = MIGRATIONS[name];
    if (migration === undefined) throw new Error(`unknown migration ${name}`);
    return migration;
  },
};
