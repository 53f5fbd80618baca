import { timestampDate } from "@bufbuild/protobuf/wkt";
import type { Api } from "../api.js";
import { describeEvent } from "../components/denial-text.js";
import { Section } from "../components/section.js";
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
            <div class="scroll">
              <table>
                <caption class="visually-hidden">Customers by plan and subscription state</caption>
                <thead>
                  <tr>
                    <th scope="col">Plan</th>
                    <th scope="col">Subscription state</th>
                    <th scope="col" class="num">
                      Customers
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {counts.data.counts.map((count) => (
                    <tr key={`${count.planId}/${count.state}`}>
                      <td>{count.planId}</td>
                      <td>{stateName(count.state)}</td>
                      <td class="num">{String(count.customerCount)}</td>
                    </tr>
                  ))}
                </tbody>
                <tfoot>
                  <tr>
                    <th scope="row" colSpan={2}>
                      All customers
                    </th>
                    <td class="num">{String(counts.data.customerCount)}</td>
                  </tr>
                </tfoot>
              </table>
            </div>
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
      </div>
      <Section title="Recent denials" id="denials" error={denials.error} loading={denials.loading}>
        {denials.data?.events.length === 0 && <p>No denials recorded.</p>}
        {denials.data && denials.data.events.length > 0 && (
          <div class="scroll">
            <table>
              <thead>
                <tr>
                  <th scope="col">When</th>
                  <th scope="col">Tenant</th>
                  <th scope="col">What happened</th>
                </tr>
              </thead>
              <tbody>
                {denials.data.events.map((event) => (
                  <tr key={event.id}>
                    <td>
                      <time
                        dateTime={event.createTime && timestampDate(event.createTime).toISOString()}
                      >
                        {formatTime(event.createTime)}
                      </time>
                    </td>
                    <td>
                      <a href={hrefOf({ page: "tenant", tenantId: event.tenantId })}>
                        <code>{event.tenantId}</code>
                      </a>
                    </td>
                    <td>{describeEvent(event)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
        <p class="hint">The first denial of each tenant, resource and period.</p>
      </Section>
    </>
  );
}
