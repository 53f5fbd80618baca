import type { AuditStore } from "../audit/store.js";
import { type CatalogDocument, catalogDocument, createPlanCatalog } from "../catalog/catalog.js";
import { type CatalogChange, diffCatalogs } from "../catalog/diff.js";
import {
  type CatalogVersion,
  canonicalJson,
  createVersionedCatalog,
  nextPlanVersions,
  pushProblems,
} from "../catalog/versions.js";
import type { Clock } from "../platform/clock/clock.js";
import { ConfigError } from "../platform/config/config.js";
import { FailedPreconditionError } from "../platform/errors/domain-error.js";
import type { Logger } from "../platform/observability/logger.js";
import { createLiveCatalog, type LiveCatalog } from "./live-catalog.js";
import type { CatalogStore } from "./store.js";

/** What a push of a catalog file would do, or did. */
export interface CatalogPlan {
  /** The version it would be stored as (or was). */
  version: number;
  changes: CatalogChange[];
  /** The plans' versions in force before, and after the push. */
  planVersions: { before: Record<string, number>; after: Record<string, number> };
}

/** The catalog's versions: what a file would change, and storing it. */
export interface CatalogService {
  /** What pushing `data` would change; ConfigError listing every problem when it is invalid. */
  diff(data: unknown, label: string): Promise<CatalogPlan>;
  /**
   * Validates `data` and stores it as the next version (when it changes anything); every
   * replica picks it up. ConfigError listing every problem when it is invalid, and then nothing
   * is stored.
   */
  push(data: unknown, label: string, pushedBy: string): Promise<CatalogPlan>;
}

/**
 * Creates the catalog service over the stored versions. Validation is the start-up one (every
 * problem at once) plus the rules a push must keep for what is already recorded
 * (`pushProblems`).
 */
export function createCatalogService(deps: {
  store: CatalogStore;
  audit: AuditStore;
  clock: Clock;
}): CatalogService {
  const { store, clock } = deps;
  const plan = async (
    data: unknown,
    label: string,
  ): Promise<CatalogPlan & { next: CatalogVersion }> => {
    const versions = await store.versions();
    const document = validated(versions, data, label);
    const current = versions.at(-1);
    const after = nextPlanVersions(versions, document);
    const version = (current?.version ?? 0) + 1;
    return {
      version,
      changes: diffCatalogs(current?.document, document),
      planVersions: { before: { ...current?.planVersions }, after },
      next: { version, document, planVersions: after },
    };
  };
  return {
    async diff(data, label) {
      const { next: _next, ...result } = await plan(data, label);
      return result;
    },
    async push(data, label, pushedBy) {
      const { next, ...result } = await plan(data, label);
      if (result.changes.length === 0) return { ...result, version: result.version - 1 };
      const now = clock.now();
      const stored = await store.transaction(async (trx) => {
        if (!(await store.insert(trx, next, pushedBy, now))) return false;
        await deps.audit.insert(trx, {
          actor: pushedBy,
          action: "catalog.push",
          tenantId: undefined,
          target: `catalog_versions/${next.version}`,
          requestId: "",
          createTime: now,
          before: { plan_versions: result.planVersions.before },
          after: { plan_versions: result.planVersions.after, changes: result.changes.length },
        });
        return true;
      });
      if (!stored) {
        throw new FailedPreconditionError(
          `catalog version ${next.version} was stored by another push meanwhile; run diff again`,
        );
      }
      return result;
    },
  };
}

/**
 * Loads the stored versions into a live catalog, first storing `seed` as version 1 when nothing
 * is stored (two replicas seeding at once store it once). A seed that differs from the version
 * in force is logged and not used: after the first start, the catalog changes by push only.
 */
export async function openLiveCatalog(deps: {
  store: CatalogStore;
  clock: Clock;
  seed: { data: unknown; label: string };
  logger: Logger;
}): Promise<LiveCatalog> {
  const { store, seed, logger } = deps;
  let versions = await store.versions();
  if (versions.length === 0) {
    const document = validated([], seed.data, seed.label);
    const planVersions = Object.fromEntries(document.plans.map((p) => [p.id, 1]));
    await store.transaction((trx) =>
      store.insert(trx, { version: 1, document, planVersions }, "seed", deps.clock.now()),
    );
    versions = await store.versions();
    logger.info({ source: seed.label }, "stored the catalog as version 1");
  } else {
    const current = versions.at(-1) as CatalogVersion;
    if (canonicalJson(catalogDocument(seed.data, seed.label)) !== canonicalJson(current.document)) {
      logger.warn(
        { source: seed.label, version: current.version },
        "the catalog file differs from the version in force, which is used; run `npx tollgate catalog diff` and `push` to change it",
      );
    }
  }
  return createLiveCatalog(versions);
}

/** Loads the versions stored after those `live` holds, if any; true when it took new ones. */
export async function refreshLiveCatalog(live: LiveCatalog, store: CatalogStore): Promise<boolean> {
  if ((await store.newest()) <= live.version()) return false;
  return live.replace(await store.versions());
}

// The start-up checks and the push rules, every problem at once.
function validated(
  versions: readonly CatalogVersion[],
  data: unknown,
  label: string,
): CatalogDocument {
  const document = catalogDocument(data, label);
  const next = createPlanCatalog(document, label);
  if (versions.length > 0) {
    const problems = pushProblems(createVersionedCatalog(versions), next, label);
    if (problems.length > 0) throw new ConfigError(problems);
  }
  return document;
}
