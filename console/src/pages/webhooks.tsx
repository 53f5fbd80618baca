import { useState } from "preact/hooks";
import { type Delivery, DeliveryState } from "../../../gen/tollgate/v1/event_service_pb.js";
import type { Api } from "../api.js";
import { ConfirmAction } from "../components/confirm-action.js";
import { Pager, usePageTokens } from "../components/pager.js";
import { Section } from "../components/section.js";
import { Table } from "../components/table.js";
import { formatTime } from "../format.js";
import { useLoad } from "../use-load.js";

const DELIVERY_STATES: Record<DeliveryState, string> = {
  [DeliveryState.UNSPECIFIED]: "—",
  [DeliveryState.PENDING]: "pending",
  [DeliveryState.SUCCEEDED]: "delivered",
  [DeliveryState.FAILED]: "failed",
};

/** Webhook endpoints, the deliveries of one, each with its attempts, and retry. */
export function WebhooksPage({ api }: { api: Api }) {
  const endpoints = useLoad(() => api.events.listWebhookEndpoints({}), [api]);
  const [picked, setPicked] = useState("");
  const list = endpoints.data?.endpoints ?? [];
  const endpointId = picked || list[0]?.id || "";
  return (
    <>
      <h1>Webhooks</h1>
      <Section title="Endpoints" id="endpoints" error={endpoints.error} loading={endpoints.loading}>
        {endpoints.data && (
          <Table
            columns={["URL", "Events", "Status", { label: "Show deliveries", hidden: true }]}
            rowCount={list.length}
            empty="No endpoints. Register one with EventService.CreateWebhookEndpoint."
          >
            {list.map((endpoint) => (
              <tr key={endpoint.id} aria-selected={endpoint.id === endpointId}>
                <td>
                  <code>{endpoint.url}</code>
                  <div class="muted">{endpoint.description}</div>
                </td>
                <td>{endpoint.types.length === 0 ? "all" : endpoint.types.join(", ")}</td>
                <td>{endpoint.enabled ? "enabled" : `disabled: ${endpoint.disabledReason}`}</td>
                <td>
                  <button
                    type="button"
                    aria-pressed={endpoint.id === endpointId}
                    onClick={() => setPicked(endpoint.id)}
                  >
                    Deliveries
                  </button>
                </td>
              </tr>
            ))}
          </Table>
        )}
      </Section>
      {endpointId !== "" && <Deliveries key={endpointId} api={api} endpointId={endpointId} />}
    </>
  );
}

function Deliveries({ api, endpointId }: { api: Api; endpointId: string }) {
  const pages = usePageTokens();
  const page = useLoad(
    () => api.events.listDeliveries({ endpointId, pageSize: 20, pageToken: pages.token }),
    [api, endpointId, pages.token],
  );
  return (
    <Section
      title="Deliveries"
      id="deliveries"
      error={page.error}
      loading={page.loading}
      actions={
        <button type="button" onClick={page.reload}>
          Refresh
        </button>
      }
    >
      {page.data?.deliveries.length === 0 && <p>Nothing delivered to this endpoint yet.</p>}
      <ul class="deliveries">
        {page.data?.deliveries.map((delivery) => (
          <DeliveryRow key={delivery.id} api={api} delivery={delivery} onRetried={page.reload} />
        ))}
      </ul>
      <Pager pages={pages} nextPageToken={page.data?.nextPageToken} />
    </Section>
  );
}

function DeliveryRow(props: { api: Api; delivery: Delivery; onRetried(): void }) {
  const d = props.delivery;
  return (
    <li class="delivery" data-delivery={d.id} data-state={DELIVERY_STATES[d.state]}>
      <div>
        <strong>{DELIVERY_STATES[d.state]}</strong> <code>{d.eventType}</code> · {d.attemptCount}{" "}
        attempt{d.attemptCount === 1 ? "" : "s"} · created {formatTime(d.createTime)}
        {d.state === DeliveryState.PENDING && ` · next attempt ${formatTime(d.nextAttemptTime)}`}
      </div>
      {d.lastError && <div class="muted">Last error: {d.lastError}</div>}
      <details>
        <summary>Attempts</summary>
        <ol>
          {d.attempts.map((attempt) => (
            <li key={attempt.attempt}>
              {formatTime(attempt.createTime)}:{" "}
              {attempt.statusCode ? `HTTP ${attempt.statusCode}` : "no answer"}
              {attempt.error && `, ${attempt.error}`} ({attempt.durationMs} ms)
            </li>
          ))}
        </ol>
      </details>
      {d.state !== DeliveryState.SUCCEEDED && (
        <ConfirmAction
          label="Retry now"
          title="Retry this delivery now"
          run={() => props.api.events.retryDelivery({ deliveryId: d.id })}
          onDone={props.onRetried}
        >
          <p>
            Event <code>{d.eventId}</code> is sent again with the same webhook-id, so a receiver
            that already has it can ignore it.
          </p>
        </ConfirmAction>
      )}
    </li>
  );
}
