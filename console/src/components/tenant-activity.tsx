import type { ListAuditEventsResponse } from "../../../gen/tollgate/v1/billing_service_pb.js";
import type { ListEventsResponse } from "../../../gen/tollgate/v1/event_service_pb.js";
import { failureOf, type Settled } from "../api.js";
import { formatTime } from "../format.js";
import { describeEvent } from "./denial-text.js";
import { Section } from "./section.js";
import { Table } from "./table.js";

/** The tenant's latest events (alerts, first denials, lifecycle) and its audit trail. */
export function TenantActivity(props: {
  events: Settled<ListEventsResponse>;
  audit: Settled<ListAuditEventsResponse>;
}) {
  const events = props.events.ok ? props.events.value.events : [];
  const audit = props.audit.ok ? props.audit.value.auditEvents : [];
  return (
    <>
      <Section title="Recent events" id="events" error={failureOf(props.events)}>
        <Table
          columns={["When", "Type", "What happened"]}
          rowCount={events.length}
          empty="No events yet."
        >
          {events.map((event) => (
            <tr key={event.id} data-event-type={event.type}>
              <td>{formatTime(event.createTime)}</td>
              <td>
                <code>{event.type}</code>
              </td>
              <td>{describeEvent(event)}</td>
            </tr>
          ))}
        </Table>
      </Section>
      <Section title="Audit trail" id="audit" error={failureOf(props.audit)}>
        <Table
          columns={["When", "Action", "Actor", "Target", "Change"]}
          rowCount={audit.length}
          empty="No changes recorded."
        >
          {audit.map((entry) => (
            <tr key={entry.id} data-audit-action={entry.action}>
              <td>{formatTime(entry.createTime)}</td>
              <td>
                <code>{entry.action}</code>
              </td>
              <td>{entry.actor}</td>
              <td>
                <code>{entry.target}</code>
              </td>
              <td>
                <details>
                  <summary>Before and after</summary>
                  <pre>{JSON.stringify({ before: entry.before, after: entry.after }, null, 2)}</pre>
                  {entry.requestId && <p class="muted">Request id {entry.requestId}</p>}
                </details>
              </td>
            </tr>
          ))}
        </Table>
      </Section>
    </>
  );
}
