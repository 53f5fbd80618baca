/**
 * `npm run bench:features`: the TypeScript client's cached `checkFeature` next to the same
 * question sent to the server (`CheckFeature` over Connect, one call at a time), on one tenant
 * whose features are cached; then how long a plan change takes to reach the cache. The cache
 * must answer in process: p99 under 50 µs, and a plan change must arrive within 2 s.
 *
 * Needs TEST_DATABASE_URL (a superuser URL; a scratch database is created and dropped).
 * Tunables: BENCH_FEATURE_CHECKS (200,000).
 */
import { randomUUID } from "node:crypto";
import { availableParallelism } from "node:os";
import { createTollgateClient } from "@tollgate/client";
import { runBenchmark } from "./bench-server.js";
import { percentile } from "./measure.js";

const CHECKS = Number(process.env.BENCH_FEATURE_CHECKS ?? 200_000);
const REMOTE_CHECKS = 2_000;

runBenchmark({}, async ({ server }) => {
  const client = createTollgateClient({ baseUrl: server.baseUrl });
  const admin = createTollgateClient({ baseUrl: server.baseUrl });
  const tenantId = randomUUID();
  console.log(
    `${availableParallelism()} cores shared by the server, PostgreSQL and this client; ${CHECKS.toLocaleString("en")} cached checks, ${REMOTE_CHECKS.toLocaleString("en")} sent\n`,
  );
  await client.checkFeature(tenantId, "sso");

  const timed = async (count: number, check: () => Promise<unknown>) => {
    const times: number[] = [];
    for (let i = 0; i < count; i++) {
      const start = performance.now();
      await check();
      times.push((performance.now() - start) * 1000);
    }
    return times.sort((a, b) => a - b);
  };
  const cached = await timed(CHECKS, () => client.checkFeature(tenantId, "sso"));
  const remote = await timed(REMOTE_CHECKS, () =>
    admin.entitlements.checkFeature({ tenantId, feature: "sso" }),
  );

  // A plan change, timed from the subscription's answer to the cache answering the new value.
  const { customer } = await admin.billing.createCustomer({ tenantId, email: "b@example.com" });
  await admin.billing.createSubscription({
    customerId: customer?.id ?? "",
    priceId: "price_team_monthly",
  });
  const changed = performance.now();
  while (!(await client.checkFeature(tenantId, "sso")).enabled) {
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  const propagationMs = performance.now() - changed;

  const row = (name: string, t: number[]) =>
    `| ${name} | ${percentile(t, 50).toFixed(1)} | ${percentile(t, 99).toFixed(1)} |`;
  console.log("| checkFeature | p50 µs | p99 µs |\n|---|---|---|");
  console.log(row("cached (in process)", cached));
  console.log(row("CheckFeature RPC (Connect)", remote));
  const p99 = percentile(cached, 99);
  console.log(
    `\ncached p99 ${p99.toFixed(1)} µs (target < 50): ${p99 < 50 ? "met" : "MISSED"}; ` +
      `${(percentile(remote, 50) / percentile(cached, 50)).toFixed(0)}× faster than a round trip at p50`,
  );
  console.log(
    `plan change reached the cache in ${propagationMs.toFixed(0)} ms (target < 2,000): ${propagationMs < 2_000 ? "met" : "MISSED"}`,
  );
  client.close();
  admin.close();
});
