import type { Knex } from "knex";
import type { CatalogDocument } from "../catalog/catalog.js";
import type { CatalogVersion } from "../catalog/versions.js";

/** The stored catalog versions. */
export interface CatalogStore {
  /** Every version, oldest first. */
  versions(): Promise<CatalogVersion[]>;
  /** The newest version's number; 0 when nothing is stored yet. */
  newest(): Promise<number>;
  /**
   * Stores `version` within `trx` and tells every replica once it commits (NOTIFY on
   * {@link CATALOG_CHANNEL}); false when a version with its number exists already (another
   * push won), and nothing is stored.
   */
  insert(
    trx: Knex.Transaction,
    version: CatalogVersion,
    pushedBy: string,
    now: Date,
  ): Promise<boolean>;
  transaction<T>(work: (trx: Knex.Transaction) => Promise<T>): Promise<T>;
}

/** The NOTIFY channel on which a pushed catalog is announced, with its version number. */
export const CATALOG_CHANNEL = "tollgate_catalog_pushed";

interface CatalogVersionRow {
  version: number;
  document: CatalogDocument;
  plan_versions: Record<string, number>;
}

/** Creates the catalog store over `knex`. */
export function createCatalogStore(knex: Knex): CatalogStore {
  return {
    async versions() {
      const rows = await knex<CatalogVersionRow>("catalog_versions")
        .select("version", "document", "plan_versions")
        .orderBy("version");
      return rows.map((row) => ({
        version: row.version,
        document: row.document,
        planVersions: row.plan_versions,
      }));
    },
    async newest() {
      const row = await knex("catalog_versions")
        .max<{ max: number | null }>("version as max")
        .first();
      return row?.max ?? 0;
    },
    transaction: (work) => knex.transaction(work),
    async insert(trx, version, pushedBy, now) {
      const inserted = await trx("catalog_versions")
        .insert({
          version: version.version,
          document: JSON.stringify(version.document),
          plan_versions: JSON.stringify(version.planVersions),
          pushed_by: pushedBy,
          push_time: now,
        })
        .onConflict("version")
        .ignore()
        .returning("version");
      if (inserted.length === 0) return false;
      await trx.raw("select pg_notify(?, ?)", [CATALOG_CHANNEL, String(version.version)]);
      return true;
    },
  };
}
