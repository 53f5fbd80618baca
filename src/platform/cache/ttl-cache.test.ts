import { describe, expect, it } from "vitest";
import { createTtlCache } from "./ttl-cache.js";

describe(createTtlCache.name, () => {
  it("should load once for concurrent and repeated gets within the TTL", async () => {
    const cache = createTtlCache<number>({ ttlMs: 60_000, maxEntries: 10 });
    let loads = 0;
    const load = async () => ++loads;
    expect(await Promise.all(Array.from({ length: 20 }, () => cache.get("k", load)))).toEqual(
      Array(20).fill(1),
    );
    expect(await cache.get("k", load)).toBe(1);
  });

  it("should load again once the TTL passed, and not keep a failure", async () => {
    const cache = createTtlCache<string>({ ttlMs: 20, maxEntries: 10 });
    await expect(cache.get("k", () => Promise.reject(new Error("down")))).rejects.toThrow("down");
    expect(await cache.get("k", async () => "first")).toBe("first");
    await new Promise((r) => setTimeout(r, 30));
    expect(await cache.get("k", async () => "second")).toBe("second");
  });

  it("should never hold more than maxEntries", async () => {
    const cache = createTtlCache<number>({ ttlMs: 60_000, maxEntries: 3 });
    for (let i = 0; i < 10; i++) await cache.get(`k${i}`, async () => i);
    // k9 is held; k0 was dropped along the way, so it loads again
    let loaded = false;
    await cache.get("k0", async () => {
      loaded = true;
      return 0;
    });
    expect(loaded).toBe(true);
  });
});
