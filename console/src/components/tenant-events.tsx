import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { useState } from "preact/hooks";
import type { Api } from "../api.js";
import { formatQuantity, formatTime } from "../format.js";
import { useLoad } from "../use-load.js";
import { ConfirmAction } from "./confirm-action.js";
import { Pager, usePageTokens } from "./pager.js";
import { Section } from "./section.js";
import { Table } from "./table.js";

const PAGE_SIZE = 25;

/** `key=value` pairs, comma-separated, as a filter of attribute values; undefined if malformed. */
function parseFilter(text: string): Record<string, string> | undefined {
  const filter: Record<string, string> = {};
  for (const part of text.split(",").map((p) => p.trim())) {
    if (part === "") continue;
    const at = part.indexOf("=");
    if (at <= 0) return undefined;
    filter[part.slice(0, at).trim()] = part.slice(at + 1).trim();
  }
  return filter;
}

/** A `datetime-local` input's value as a wire timestamp (local time); unset when empty. */
const timeOf = (value: string) => (value === "" ? undefined : timestampFromDate(new Date(value)));

/**
 * The tenant's raw usage events as stored (ListUsageEvents), latest first, filtered by
 * resource, time and attribute values, voided ones on request with who voided them and why;
 * live events can be selected and voided (VoidUsage, admin keys), which corrects every figure
 * derived from them. The void's request id is fixed while its dialog is open, so confirming
 * twice voids once.
 */
export function TenantEvents(props: {
  api: Api;
  tenantId: string;
  resources: string[];
  onChanged(): void;
}) {
  const { api, tenantId } = props;
  const [resource, setResource] = useState("");
  const [from, setFrom] = useState("");
  const [to, setTo] = useState("");
  const [filterText, setFilterText] = useState("");
  const [showVoided, setShowVoided] = useState(false);
  const [selected, setSelected] = useState<string[]>([]);
  const [reason, setReason] = useState("");
  const pages = usePageTokens();
  const filter = parseFilter(filterText);
  // A page token belongs to the query it came from: new filters start from the first page.
  const refilter =
    <T,>(set: (value: T) => void) =>
    (value: T) => {
      pages.reset();
      setSelected([]);
      set(value);
    };
  const events = useLoad(
    () =>
      api.usage.listUsageEvents({
        tenantId,
        resourceType: resource,
        startTime: timeOf(from),
        endTime: timeOf(to),
        includeVoided: showVoided,
        filter: filter ?? {},
        pageSize: PAGE_SIZE,
        pageToken: pages.token,
      }),
    [api, tenantId, resource, from, to, filterText, showVoided, pages.token],
  );
  const rows = events.data?.events ?? [];
  const toggle = (id: string) =>
    setSelected((list) => (list.includes(id) ? list.filter((x) => x !== id) : [...list, id]));
  const done = () => {
    setSelected([]);
    setReason("");
    events.reload();
    props.onChanged();
  };
  return (
    <Section
      title="Usage events"
      id="usage-events"
      error={events.error}
      loading={events.loading}
      actions={
        <ConfirmAction
          label={`Void selected (${selected.length})`}
          title={`Void ${selected.length} usage event${selected.length === 1 ? "" : "s"}`}
          confirmLabel="Void"
          danger
          disabled={selected.length === 0}
          run={async (requestId) =>
            reason.trim() === ""
              ? "Say why: the reason goes to the audit trail."
              : api.usage.voidUsage({
                  tenantId,
                  eventIds: selected,
                  reason: reason.trim(),
                  requestId,
                })
          }
          onDone={done}
        >
          <p>
            The events stay stored, marked voided, and stop counting: usage, limits, grants, the
            invoice and the provider's meters are corrected.
          </p>
          <label for="void-reason">Reason (shown in the audit trail)</label>
          <input
            id="void-reason"
            value={reason}
            onInput={(e) => setReason(e.currentTarget.value)}
          />
        </ConfirmAction>
      }
    >
      <div class="chart-controls">
        <label>
          Resource{" "}
          <select value={resource} onChange={(e) => refilter(setResource)(e.currentTarget.value)}>
            <option value="">All</option>
            {props.resources.map((r) => (
              <option key={r} value={r}>
                {r}
              </option>
            ))}
          </select>
        </label>
        <label>
          From{" "}
          <input
            type="datetime-local"
            value={from}
            onInput={(e) => refilter(setFrom)(e.currentTarget.value)}
          />
        </label>
        <label>
          To{" "}
          <input
            type="datetime-local"
            value={to}
            onInput={(e) => refilter(setTo)(e.currentTarget.value)}
          />
        </label>
        <label>
          Dimensions{" "}
          <input
            name="event-filter"
            placeholder="model=gpt-4"
            value={filterText}
            aria-invalid={filter === undefined}
            onInput={(e) => refilter(setFilterText)(e.currentTarget.value)}
          />
        </label>
        <label>
          <input
            type="checkbox"
            name="show-voided"
            checked={showVoided}
            onChange={(e) => refilter(setShowVoided)(e.currentTarget.checked)}
          />{" "}
          Show voided
        </label>
      </div>
      {filter === undefined && <p class="error">Write the filter as key=value, comma-separated.</p>}
      <Table
        columns={[
          { label: "Select", hidden: true },
          "Time",
          "Event id",
          "Resource",
          { label: "Quantity", numeric: true },
          "Attributes",
          "State",
        ]}
        rowCount={rows.length}
        empty="No usage events match."
      >
        {rows.map(({ event, voided, voidReason, voidedBy, voidTime }) => {
          const id = event?.eventId ?? "";
          return (
            <tr key={id} data-event={id} data-voided={voided ? "true" : "false"}>
              <td>
                {!voided && (
                  <input
                    type="checkbox"
                    aria-label={`Select ${id}`}
                    checked={selected.includes(id)}
                    onChange={() => toggle(id)}
                  />
                )}
              </td>
              <td>{formatTime(event?.occurTime)}</td>
              <td>
                <code>{id}</code>
              </td>
              <td>{event?.resourceType}</td>
              <td class="num">{formatQuantity(event?.quantity ?? "0")}</td>
              <td>
                {Object.entries(event?.attributes ?? {})
                  .map(([k, v]) => `${k}=${v}`)
                  .join(", ") || "—"}
              </td>
              <td>
                {voided
                  ? `voided ${formatTime(voidTime)} by ${voidedBy}: ${voidReason}`
                  : "counted"}
              </td>
            </tr>
          );
        })}
      </Table>
      <Pager pages={pages} nextPageToken={events.data?.nextPageToken} />
    </Section>
  );
}
