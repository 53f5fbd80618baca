import { timestampDate, timestampFromDate } from "@bufbuild/protobuf/wkt";
import { useMemo, useState } from "preact/hooks";
import { Granularity } from "../../../gen/tollgate/v1/usage_service_pb.js";
import type { Api } from "../api.js";
import { formatQuantity } from "../format.js";
import { useLoad } from "../use-load.js";
import { Section } from "./section.js";
import { Table } from "./table.js";
import { type ChartSeries, UsageChart } from "./usage-chart.js";

const RANGES = {
  days: { label: "30 days, daily", granularity: Granularity.DAY, stepMs: 86_400_000, buckets: 30 },
  hours: {
    label: "48 hours, hourly",
    granularity: Granularity.HOUR,
    stepMs: 3_600_000,
    buckets: 48,
  },
} as const;
type RangeName = keyof typeof RANGES;

/**
 * Usage over time from GetUsage: the last 30 UTC days or 48 UTC hours, every bucket drawn
 * (empty ones as zero) so gaps read as quiet time rather than missing data. One call fetches
 * every resource, so the chart opens on a resource that has usage events in the range rather
 * than on a flat line, and switching resources costs nothing.
 */
export function TenantUsageChart(props: { api: Api; tenantId: string; resources: string[] }) {
  const [range, setRange] = useState<RangeName>("days");
  const [picked, setPicked] = useState("");
  const { granularity, stepMs, buckets } = RANGES[range];
  const usage = useLoad(async () => {
    const end = Math.floor(Date.now() / stepMs) * stepMs + stepMs;
    const start = end - buckets * stepMs;
    const answer = await props.api.usage.getUsage({
      tenantId: props.tenantId,
      startTime: timestampFromDate(new Date(start)),
      endTime: timestampFromDate(new Date(end)),
      granularity,
    });
    return { answer, start };
  }, [props.api, props.tenantId, range]);
  const totals = new Map(usage.data?.answer.totals.map((t) => [t.resourceType, t.quantity]));
  const withData = props.resources.filter((type) => Number(totals.get(type) ?? "0") !== 0);
  const resource = picked || withData[0] || props.resources[0] || "";
  const resourceBuckets = useMemo(
    () => usage.data?.answer.series.filter((b) => b.resourceType === resource) ?? [],
    [usage.data, resource],
  );
  const series = useMemo((): ChartSeries | undefined => {
    const data = usage.data;
    if (data === undefined) return undefined;
    const byStart = new Map(
      resourceBuckets.map((b) => [
        b.startTime ? timestampDate(b.startTime).getTime() : 0,
        b.quantity,
      ]),
    );
    const times: number[] = [];
    const values: number[] = [];
    for (let i = 0; i < buckets; i++) {
      const at = data.start + i * stepMs;
      times.push(at / 1000);
      values.push(Number(byStart.get(at) ?? "0"));
    }
    return { times, values, label: resource };
  }, [usage.data, resourceBuckets, resource, buckets, stepMs]);
  const total = totals.get(resource) ?? "0";
  return (
    <Section title="Usage over time" id="usage-chart" error={usage.error} loading={usage.loading}>
      <div class="chart-controls">
        <label for="chart-resource">Resource</label>
        <select
          id="chart-resource"
          value={resource}
          onChange={(e) => setPicked(e.currentTarget.value)}
        >
          {props.resources.map((type) => (
            <option key={type} value={type}>
              {type} ({totals.has(type) ? formatQuantity(totals.get(type) ?? "0") : "no events"})
            </option>
          ))}
        </select>
        <fieldset class="segmented">
          <legend class="visually-hidden">Range</legend>
          {(Object.keys(RANGES) as RangeName[]).map((name) => (
            <label key={name}>
              <input
                type="radio"
                name="chart-range"
                checked={range === name}
                onChange={() => setRange(name)}
              />
              {RANGES[name].label}
            </label>
          ))}
        </fieldset>
      </div>
      {series && withData.length === 0 && (
        <p class="empty-chart">
          No usage events in the last {RANGES[range].label.split(",")[0]}. The chart draws events
          ingested through StreamUsage and TrackUsage; calls admitted by CheckAndRecord, RecordUsage
          and reservations count in the bars above but are not events.
        </p>
      )}
      {series && withData.length > 0 && (
        <UsageChart series={series} title={`${resource}, ${RANGES[range].label} (UTC)`} />
      )}
      {series && withData.length > 0 && (
        <p class="hint" data-chart-total={total}>
          Total over the range: {formatQuantity(total)}. Counts usage events ingested through
          StreamUsage and TrackUsage; CheckAndRecord and reservations show in the bars above.
        </p>
      )}
      {series && withData.length > 0 && (
        <details>
          <summary>Show the figures as a table</summary>
          <Table
            columns={["Bucket start (UTC)", { label: resource, numeric: true }]}
            rowCount={resourceBuckets.length}
            empty="No usage in this range."
          >
            {resourceBuckets.map((bucket) => (
              <tr key={bucket.startTime?.seconds}>
                <td>{bucket.startTime && timestampDate(bucket.startTime).toISOString()}</td>
                <td class="num">{formatQuantity(bucket.quantity)}</td>
              </tr>
            ))}
          </Table>
        </details>
      )}
    </Section>
  );
}
