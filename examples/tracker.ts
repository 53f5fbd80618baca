/**
 * The quick reference's "Usage Tracker" section: basic tracking, the async context manager as
 * `await using`, the typed helpers, a manual flush, and statistics.
 */
import { createTollgateClient, UsageTracker } from "@tollgate/client";
import { type ExampleContext, runIfMain } from "./context.js";

export async function main({ baseUrl, apiKey, tenantId }: ExampleContext) {
  const client = createTollgateClient({ baseUrl, apiKey });

  // tracker = UsageTracker(usage_repo, batch_size=100, flush_interval_seconds=30); tracker.start()
  const tracker = new UsageTracker(client, { batchSize: 100, flushIntervalSeconds: 30 }).start();
  await tracker.track(tenantId, "executions", "1");
  await tracker.stop();

  // async with UsageTracker(usage_repo) as tracker: …
  let contextStats: ReturnType<UsageTracker["getStats"]>;
  {
    await using scoped = new UsageTracker(client).start();
    await scoped.trackExecution(tenantId, { workflowId: "wf-123" });
    await scoped.trackTokens(tenantId, { tokens: 1500, model: "gpt-4" });
    await scoped.trackApiCall(tenantId, { endpoint: "/api/v1/workflows" });
    await scoped.trackStorage(tenantId, { sizeMb: "10.5" });
    contextStats = scoped.getStats();
  } // ← leaving the block stops the tracker, which flushes the four events

  // flushed_count = await tracker.flush(); stats = tracker.get_stats()
  const manual = new UsageTracker(client);
  await manual.trackTokens(tenantId, { tokens: 250, model: "gpt-4o-mini" });
  const flushedCount = await manual.flush();
  const stats = manual.getStats();

  return {
    basic: tracker.getStats(),
    beforeLeavingScope: contextStats,
    flushedCount,
    stats,
  };
}

runIfMain(import.meta.url, main);
