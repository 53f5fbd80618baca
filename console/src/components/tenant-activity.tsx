import type { ListAuditEventsResponse } from "../../../gen/tollgate/v1/billing_service_pb.js";
import type { ListEventsResponse } from "../../../gen/tollgate/v1/event_service_pb.js";
import type { Settled } from "../api.js";
import { formatTime } from "../format.js";
import { describeEvent } from "./denial-text.js";
import { Section } from "./section.js";

/** The tenant's latest events (alerts, first denials, lifecycle) and its audit trail. */
export function TenantActivity(props: {
  events: Settled<ListEventsResponse>;
  audit: Settled<ListAuditEventsResponse>;
}) {
  const events = props.events.ok ? props.events.value.events : [];
  const audit = props.audit.ok ? props.audit.value.auditEvents : [];
  return (
    <>
      <Section
        title="Recent events"
        id="events"
        error={props.events.ok ? undefined : props.events.error}
      >
        {events.length === 0 && <p>No events yet.</p>}
        {events.length > 0 && (
          <div class="scroll">
            <table>
              <thead>
                <tr>
                  <th scope="col">When</th>
                  <th scope="col">Type</th>
                  <th scope="col">What happened</th>
                </tr>
              </thead>
              <tbody>
                {events.map((event) => (
                  <tr key={event.id} data-event-type={event.type}>
                    <td>{formatTime(event.createTime)}</td>
                    <td>
                      <code>{event.type}</code>
                    </td>
                    <td>{describeEvent(event)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </Section>
      <Section
        title="Audit trail"
        id="audit"
        error={props.audit.ok ? undefined : props.audit.error}
      >
        {audit.length === 0 && <p>No changes recorded.</p>}
        {audit.length > 0 && (
          <div class="scroll">
            <table>
              <thead>
                <tr>
                  <th scope="col">When</th>
                  <th scope="col">Action</th>
                  <th scope="col">Actor</th>
                  <th scope="col">Target</th>
                  <th scope="col">Change</th>
                </tr>
              </thead>
              <tbody>
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
                        <pre>
                          {JSON.stringify({ before: entry.before, after: entry.after }, null, 2)}
                        </pre>
                        {entry.requestId && <p class="muted">Request id {entry.requestId}</p>}
                      </details>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </Section>
    </>
  );
}
