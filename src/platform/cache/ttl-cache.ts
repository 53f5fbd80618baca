/** Options of {@link createTtlCache}. */
export interface TtlCacheOptions {
  /** How long a loaded value is served without loading it again. */
  ttlMs: number;
  /** Most entries kept; past it expired ones are swept, and if none were, all are dropped. */
  maxEntries: number;
}

/** Results of an expensive lookup, shared by concurrent callers and reused for a while. */
export interface TtlCache<V> {
  /**
   * The value under `key`: the one loaded within the last `ttlMs`, the load in flight, or a
   * new load. A load that fails is not kept, so the next caller loads again.
   */
  get(key: string, load: () => Promise<V>): Promise<V>;
}

/**
 * Creates a bounded cache of promises. It serves lookups whose answer may be a few seconds
 * old (a verified API key, a provider's invoice preview) and that a flood of identical calls
 * must not repeat: every caller during a load waits on that one load.
 */
export function createTtlCache<V>(options: TtlCacheOptions): TtlCache<V> {
  const entries = new Map<string, { value: Promise<V>; expires: number }>();
  return {
    get(key, load) {
      const now = Date.now();
      const hit = entries.get(key);
      if (hit !== undefined && hit.expires > now) return hit.value;
      if (entries.size >= options.maxEntries) {
        for (const [k, entry] of entries) if (entry.expires <= now) entries.delete(k);
        if (entries.size >= options.maxEntries) entries.clear();
      }
      const value = load();
      entries.set(key, { value, expires: now + options.ttlMs });
      value.catch(() => {
        if (entries.get(key)?.value === value) entries.delete(key);
      });
      return value;
    },
  };
}
