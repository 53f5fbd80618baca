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

/** A group's label: its value of the breakdown's attribute, or a word for events without one. */
const groupLabel = (value: string | undefined) => (value ? value : "(none)");

/**
 * Usage over time from GetUsage: the last 30 UTC days or 48 UTC hours, every bucket drawn
 * (empty ones as zero) so gaps read as quiet time rather than missing data. One call fetches
 * every resource, so the chart opens on a resource that has usage events in the range rather
 * than on a flat line, and switching resources costs nothing. Broken down by an attribute
 * (a meter's dimension such as `model`), the bars stack one group on another, and the table
 * lists each group's figures; the totals are the server's own per group (a distinct count is
 * not the sum of its buckets).
 */
export function TenantUsageChart(props: {
  api: Api;
  tenantId: string;
  resources: string[];
  /** Attributes to offer for the breakdown: the dimensions the tenant's limits name. */
  dimensions: string[];
  /** Changes when the page changed the tenant's usage (a void), so the chart loads again. */
  revision: number;
}) {
  const [range, setRange] = useState<RangeName>("days");
  const [picked, setPicked] = useState("");
  const [breakdown, setBreakdown] = useState("");
  const { granularity, stepMs, buckets } = RANGES[range];
  const usage = useLoad(async () => {
    const end = Math.floor(Date.now() / stepMs) * stepMs + stepMs;
    const start = end - buckets * stepMs;
    const [answer, byGroup] = await Promise.all([
      props.api.usage.getUsage({
        tenantId: props.tenantId,
        startTime: timestampFromDate(new Date(start)),
        endTime: timestampFromDate(new Date(end)),
        granularity,
      }),
      breakdown === ""
        ? undefined
        : props.api.usage.getUsage({
            tenantId: props.tenantId,
            startTime: timestampFromDate(new Date(start)),
            endTime: timestampFromDate(new Date(end)),
            granularity,
            groupBy: [breakdown],
          }),
    ]);
    return { answer, byGroup, start };
  }, [props.api, props.tenantId, range, breakdown, props.revision]);
  const totals = new Map(usage.data?.answer.totals.map((t) => [t.resourceType, t.quantity]));
  const withData = props.resources.filter((type) => Number(totals.get(type) ?? "0") !== 0);
  const resource = picked || withData[0] || props.resources[0] || "";
  const report = usage.data?.byGroup ?? usage.data?.answer;
  const resourceBuckets = useMemo(
    () => report?.series.filter((b) => b.resourceType === resource) ?? [],
    [report, resource],
  );
  const groups = useMemo(
    () =>
      (report?.totals ?? [])
        .filter((t) => t.resourceType === resource)
        .map((t) => ({ value: t.dimensions[breakdown] ?? "", total: t.quantity })),
    [report, resource, breakdown],
  );
  const series = useMemo((): ChartSeries | undefined => {
    const data = usage.data;
    if (data === undefined) return undefined;
    const times: number[] = [];
    for (let i = 0; i < buckets; i++) times.push((data.start + i * stepMs) / 1000);
    const layerValues = (value: string | undefined) => {
      const byStart = new Map(
        resourceBuckets
          .filter((b) => value === undefined || (b.dimensions[breakdown] ?? "") === value)
          .map((b) => [b.startTime ? timestampDate(b.startTime).getTime() : 0, b.quantity]),
      );
      return times.map((t) => Number(byStart.get(t * 1000) ?? "0"));
    };
    const layers =
      breakdown === ""
        ? [{ label: resource, values: layerValues(undefined) }]
        : groups.map((g) => ({ label: groupLabel(g.value), values: layerValues(g.value) }));
    return { times, layers };
  }, [usage.data, resourceBuckets, resource, buckets, stepMs, breakdown, groups]);
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
        <label for="chart-breakdown">Break down by</label>
        <input
          id="chart-breakdown"
          list="chart-dimensions"
          placeholder="attribute, e.g. model"
          value={breakdown}
          onChange={(e) => setBreakdown(e.currentTarget.value.trim())}
        />
        <datalist id="chart-dimensions">
          {props.dimensions.map((name) => (
            <option key={name} value={name} />
          ))}
        </datalist>
      </div>
      {series && withData.length === 0 && (
        <p class="empty-chart">
          No usage events in the last {RANGES[range].label.split(",")[0]}. The chart draws events
          ingested through StreamUsage and TrackUsage; calls admitted by CheckAndRecord, RecordUsage
          and reservations count in the bars above but are not events.
        </p>
      )}
      {series && withData.length > 0 && (
        <UsageChart
          series={series}
          title={`${resource}${breakdown ? ` by ${breakdown}` : ""}, ${RANGES[range].label} (UTC)`}
        />
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
            columns={[
              "Bucket start (UTC)",
              ...(breakdown ? [breakdown] : []),
              { label: resource, numeric: true },
            ]}
            rowCount={resourceBuckets.length}
            empty="No usage in this range."
          >
            {resourceBuckets.map((bucket) => (
              <tr key={`${bucket.startTime?.seconds}/${bucket.dimensions[breakdown] ?? ""}`}>
                <td>{bucket.startTime && timestampDate(bucket.startTime).toISOString()}</td>
                {breakdown && <td>{groupLabel(bucket.dimensions[breakdown])}</td>}
                <td class="num">{formatQuantity(bucket.quantity)}</td>
              </tr>
            ))}
          </Table>
          {breakdown && (
            <ul class="group-totals">
              {groups.map((g) => (
                <li key={g.value} data-group={g.value}>
                  {groupLabel(g.value)}: {formatQuantity(g.total)} over the range
                </li>
              ))}
            </ul>
          )}
        </details>
      )}
    </Section>
  );
}
