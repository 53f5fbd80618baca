import { useState } from "preact/hooks";
import { type Delivery, DeliveryState } from "../../../gen/tollgate/v1/event_service_pb.js";
import type { Api } from "../api.js";
import { ConfirmAction } from "../components/confirm-action.js";
import { Section } from "../components/section.js";
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
        {endpoints.data && list.length === 0 && (
          <p>No endpoints. Register one with EventService.CreateWebhookEndpoint.</p>
        )}
        {list.length > 0 && (
          <div class="scroll">
            <table>
              <thead>
                <tr>
                  <th scope="col">URL</th>
                  <th scope="col">Events</th>
                  <th scope="col">Status</th>
                  <th scope="col">
                    <span class="visually-hidden">Show deliveries</span>
                  </th>
                </tr>
              </thead>
              <tbody>
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
              </tbody>
            </table>
          </div>
        )}
      </Section>
      {endpointId !== "" && <Deliveries api={api} endpointId={endpointId} />}
    </>
  );
}

function Deliveries({ api, endpointId }: { api: Api; endpointId: string }) {
  const [tokens, setTokens] = useState<string[]>([""]);
  const token = tokens.at(-1) ?? "";
  const page = useLoad(
    () => api.events.listDeliveries({ endpointId, pageSize: 20, pageToken: token }),
    [api, endpointId, token],
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
      <div class="pager">
        <button
          type="button"
          disabled={tokens.length < 2}
          onClick={() => setTokens((l) => l.slice(0, -1))}
        >
          Previous page
        </button>
        <button
          type="button"
          disabled={!page.data?.nextPageToken}
          onClick={() => {
            const next = page.data?.nextPageToken;
            if (next) setTokens((l) => [...l, next]);
          }}
        >
          Next page
        </button>
      </div>
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
          run={async () => {
            await props.api.events.retryDelivery({ deliveryId: d.id });
            return undefined;
          }}
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
