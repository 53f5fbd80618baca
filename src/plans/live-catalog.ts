import type { PlanCatalog } from "../catalog/catalog.js";
import { type CatalogVersion, createVersionedCatalog } from "../catalog/versions.js";

/**
 * The catalog every domain reads, swapped whole when a newer version is stored: each read sees
 * one version's catalog, never a mix. `catalog` is what the domains hold; its properties always
 * answer from the newest version loaded.
 */
export interface LiveCatalog {
  catalog: PlanCatalog;
  /** The versions loaded, oldest first. */
  versions(): readonly CatalogVersion[];
  /** The newest version's number. */
  version(): number;
  /** Puts `versions` in force when they are newer than those loaded; true when they were. */
  replace(versions: readonly CatalogVersion[]): boolean;
  /** Registers a callback run after each replacement, for caches built on the old catalog. */
  onChange(listener: () => void): void;
}

/** Creates the live catalog over the versions stored at start-up (at least one). */
export function createLiveCatalog(initial: readonly CatalogVersion[]): LiveCatalog {
  let versions = initial;
  let current = createVersionedCatalog(initial);
  const listeners: (() => void)[] = [];
  const newest = () => versions.at(-1)?.version ?? 0;
  const catalog: PlanCatalog = {
    get plans() {
      return current.plans;
    },
    get defaultPlan() {
      return current.defaultPlan;
    },
    get resourceKinds() {
      return current.resourceKinds;
    },
    get features() {
      return current.features;
    },
    get allVersions() {
      return current.allVersions;
    },
    planById: (id) => current.planById(id),
    planVersion: (id, version) => current.planVersion(id, version),
    planByPriceId: (priceId) => current.planByPriceId(priceId),
    meteredPrice: (priceId) => current.meteredPrice(priceId),
    meterOf: (resourceType) => current.meterOf(resourceType),
  };
  return {
    catalog,
    versions: () => versions,
    version: newest,
    replace(next) {
      if ((next.at(-1)?.version ?? 0) <= newest()) return false;
      current = createVersionedCatalog(next);
      versions = next;
      for (const listener of listeners) listener();
      return true;
    },
    onChange(listener) {
      listeners.push(listener);
    },
  };
}
