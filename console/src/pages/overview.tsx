import type { Api } from "../api.js";
import { describeEvent } from "../components/denial-text.js";
import { Section } from "../components/section.js";
import { Table } from "../components/table.js";
import { TestClock } from "../components/test-clock.js";
import { formatTime, stateName } from "../format.js";
import { hrefOf } from "../route.js";
import { useLoad } from "../use-load.js";

// Often enough to watch ingestion move, rarely enough to cost the server nothing.
const REFRESH_MS = 5_000;

/** Customers by plan and state, this replica's ingestion, and the latest denials. */
export function OverviewPage({ api }: { api: Api }) {
  const counts = useLoad(() => api.billing.countCustomers({}), [api], REFRESH_MS);
  const stats = useLoad(() => api.usage.getIngestStats({}), [api], REFRESH_MS);
  const denials = useLoad(
    () => api.events.listEvents({ types: ["entitlement.denied"], pageSize: 10 }),
    [api],
    REFRESH_MS,
  );
  const s = stats.data;
  return (
    <>
      <h1>Overview</h1>
      <div class="grid">
        <Section
          title="Customers by plan"
          id="customer-counts"
          error={counts.error}
          loading={counts.loading}
        >
          {counts.data && (
            <Table
              columns={["Plan", "Subscription state", { label: "Customers", numeric: true }]}
              rowCount={counts.data.counts.length}
              empty="No customers yet."
              foot={
                <tr>
                  <th scope="row" colSpan={2}>
                    All customers
                  </th>
                  <td class="num">{String(counts.data.customerCount)}</td>
                </tr>
              }
            >
              {counts.data.counts.map((count) => (
                <tr key={`${count.planId}/${count.state}`}>
                  <td>{count.planId}</td>
                  <td>{stateName(count.state)}</td>
                  <td class="num">{String(count.customerCount)}</td>
                </tr>
              ))}
            </Table>
          )}
        </Section>
        <Section title="Usage ingestion" id="ingest" error={stats.error} loading={stats.loading}>
          {s && (
            <dl class="facts">
              <dt>Events per second (last minute)</dt>
              <dd data-stat="rate">{s.recentEventsPerSecond.toFixed(1)}</dd>
              <dt>Tracked</dt>
              <dd>{String(s.trackedCount)}</dd>
              <dt>Stored</dt>
              <dd>{String(s.flushedCount)}</dd>
              <dt>Duplicates</dt>
              <dd>{String(s.duplicateCount)}</dd>
              <dt>Rejected</dt>
              <dd>{String(s.rejectedCount)}</dd>
              <dt>Failed flushes (retried)</dt>
              <dd>{String(s.errorCount)}</dd>
              <dt>Buffered now</dt>
              <dd>{String(s.bufferSize)}</dd>
              <dt>Last flush</dt>
              <dd>{formatTime(s.lastFlushTime)}</dd>
            </dl>
          )}
          <p class="hint">Counted by the replica that answered, since it started.</p>
        </Section>
        <TestClock api={api} />
      </div>
      <Section title="Recent denials" id="denials" error={denials.error} loading={denials.loading}>
        {denials.data && (
          <Table
            columns={["When", "Tenant", "What happened"]}
            rowCount={denials.data.events.length}
            empty="No denials recorded."
          >
            {denials.data.events.map((event) => (
              <tr key={event.id}>
                <td>{formatTime(event.createTime)}</td>
                <td>
                  <a href={hrefOf({ page: "tenant", tenantId: event.tenantId })}>
                    <code>{event.tenantId}</code>
                  </a>
                </td>
                <td>{describeEvent(event)}</td>
              </tr>
            ))}
          </Table>
        )}
        <p class="hint">The first denial of each tenant, resource and period.</p>
      </Section>
    </>
  );
}
