import { type Client, Code, ConnectError } from "@connectrpc/connect";
import type { EntitlementService, Feature } from "./gen/tollgate/v1/entitlement_service_pb.js";
import type { EventService } from "./gen/tollgate/v1/event_service_pb.js";

/** Options of the client's feature cache (`createTollgateClient({ cache })`). */
export interface FeatureCacheOptions {
  /**
   * How long, once the server is unreachable, features are still answered from the last known
   * values (`source: "stale"`); 5 minutes by default. After it, the fallback answers.
   */
  staleForMs?: number | undefined;
  /**
   * What to answer when neither fresh nor stale values are known: a value per feature name
   * (`{ sso: false, retention_days: "7" }`). A feature without one fails the check instead.
   */
  fallback?: Readonly<Record<string, boolean | string>> | undefined;
  /** Tenants kept at most; the least recently used one goes first. 10,000 by default. */
  maxTenants?: number | undefined;
}

/** Where a cached answer comes from. */
export type FeatureAnswerSource = "cache" | "stale" | "fallback";

/** A feature as the cache answers it. */
export interface CachedFeature {
  name: string;
  /** A boolean's value; for a number or string, whether it differs from the catalog's default. */
  enabled: boolean;
  /** The value: a boolean, or a number as its decimal string, or a word. */
  value: boolean | string;
  source: FeatureAnswerSource;
}

/** Each tenant's features kept in process, answered without a round trip. */
export interface FeatureCache {
  /**
   * One feature of a tenant: from the cache once the tenant's features are known (the first
   * check of a tenant fetches them), from the last known values while the server is
   * unreachable, then from the fallback.
   */
  checkFeature(tenantId: string, feature: string): Promise<CachedFeature>;
  /** Stops following the server's events; answers then come from what is cached. */
  close(): void;
}

/** The event types after which a tenant's features are fetched again. */
export const CACHE_EVENT_TYPES = [
  "entitlement.updated",
  "subscription.created",
  "subscription.updated",
  "subscription.canceled",
  "subscription.past_due",
] as const;

interface Entry {
  planId: string;
  features: Map<string, Omit<CachedFeature, "source">>;
}

/**
 * Creates the feature cache over the client's services. Freshness comes from the event stream:
 * while it runs, a tenant's entry is refetched as soon as an event says its entitlements
 * changed, so a plan change reaches the cache within a round trip of the event. The stream
 * follows every tenant (an admin key), or each cached tenant on its own when the key may only
 * see one. When the stream breaks, entries turn stale at that moment and are answered as
 * `stale` for `staleForMs`; the stream is reopened with backoff, and once it runs again every
 * cached tenant is fetched afresh (events may have been missed meanwhile). Metered checks are
 * not cached: they stay with `checkAndRecord`.
 */
export function createFeatureCache(
  services: {
    entitlements: Client<typeof EntitlementService>;
    events: Client<typeof EventService>;
  },
  options: FeatureCacheOptions = {},
): FeatureCache {
  const staleForMs = options.staleForMs ?? 300_000;
  const maxTenants = options.maxTenants ?? 10_000;
  const entries = new Map<string, Entry>();
  const loading = new Map<string, Promise<Entry>>();
  const abort = new AbortController();
  // Undefined while the stream runs; else when it broke (entries are stale from then).
  let downSince: number | undefined;
  let perTenant = false;
  const watched = new Set<string>();

  const fetchEntry = (tenantId: string): Promise<Entry> => {
    const pending = loading.get(tenantId);
    if (pending) return pending;
    const load = services.entitlements
      .getFeatures({ tenantId }, { signal: abort.signal })
      .then((answer) => {
        const entry = {
          planId: answer.planId,
          features: new Map(answer.features.map((f) => [f.name, fromFeature(f)])),
        };
        entries.delete(tenantId);
        entries.set(tenantId, entry);
        if (entries.size > maxTenants) {
          const oldest = entries.keys().next().value;
          if (oldest !== undefined) entries.delete(oldest);
        }
        return entry;
      })
      .finally(() => loading.delete(tenantId));
    loading.set(tenantId, load);
    return load;
  };

  const follow = async (tenantId: string) => {
    for (let pause = 250; !abort.signal.aborted; pause = Math.min(pause * 2, 5_000)) {
      try {
        const stream = services.events.streamEvents(
          { tenantId, types: [...CACHE_EVENT_TYPES] },
          // The longest timer Node keeps: a stream lives until the server or the network ends it.
          { signal: abort.signal, timeoutMs: 2 ** 31 - 1 },
        );
        // Fetch what the stream may have missed once it is open, then follow it.
        const iterator = stream[Symbol.asyncIterator]();
        const first = iterator.next();
        // A stream that fails while the fetch below fails too is answered by that failure.
        first.catch(() => undefined);
        await Promise.all(
          [...entries.keys()].filter((t) => tenantId === "" || t === tenantId).map(fetchEntry),
        );
        downSince = undefined;
        pause = 250;
        for (let next = await first; !next.done; next = await iterator.next()) {
          const tenant = next.value.event?.tenantId;
          if (tenant !== undefined && entries.has(tenant))
            void fetchEntry(tenant).catch(() => undefined);
        }
      } catch (error) {
        if (abort.signal.aborted) return;
        if (ConnectError.from(error).code === Code.PermissionDenied && tenantId === "") {
          // A tenant key sees its own tenant only: follow each cached tenant on its own.
          perTenant = true;
          for (const tenant of entries.keys()) watch(tenant);
          return;
        }
        downSince ??= Date.now();
      }
      await new Promise((resolve) => setTimeout(resolve, pause).unref());
    }
  };

  const watch = (tenantId: string) => {
    if (watched.has(tenantId)) return;
    watched.add(tenantId);
    void follow(tenantId);
  };

  const fallbackOf = (tenantId: string, feature: string, cause: unknown): CachedFeature => {
    const value = options.fallback?.[feature];
    if (value === undefined) {
      throw new ConnectError(
        `feature ${feature} of tenant ${tenantId} is not known and has no fallback`,
        Code.Unavailable,
        undefined,
        undefined,
        cause,
      );
    }
    return {
      name: feature,
      value,
      enabled: value !== false && value !== "false",
      source: "fallback",
    };
  };

  const answerFrom = (entry: Entry, tenantId: string, feature: string): CachedFeature => {
    const known = entry.features.get(feature);
    if (known === undefined) {
      throw new ConnectError(
        `feature ${feature} is not a known feature; known: ${[...entry.features.keys()].join(", ")}`,
        Code.InvalidArgument,
      );
    }
    if (downSince === undefined) return { ...known, source: "cache" };
    if (Date.now() - downSince <= staleForMs) return { ...known, source: "stale" };
    return fallbackOf(tenantId, feature, undefined);
  };

  watch("");
  return {
    async checkFeature(tenantId, feature) {
      const tenant = tenantId.toLowerCase();
      const entry = entries.get(tenant);
      if (entry !== undefined) return answerFrom(entry, tenant, feature);
      if (perTenant) watch(tenant);
      try {
        return answerFrom(await fetchEntry(tenant), tenant, feature);
      } catch (error) {
        if (error instanceof ConnectError && error.code === Code.InvalidArgument) throw error;
        if (error instanceof ConnectError && error.code === Code.PermissionDenied) throw error;
        return fallbackOf(tenant, feature, error);
      }
    },
    close() {
      abort.abort();
    },
  };
}

function fromFeature(feature: Feature): Omit<CachedFeature, "source"> {
  const value = feature.value.case === undefined ? false : feature.value.value;
  return { name: feature.name, enabled: feature.enabled, value };
}
