import { useEffect, useState } from "preact/hooks";
import type { Subscription } from "../../../gen/tollgate/v1/billing_service_pb.js";
import type { Api } from "../api.js";
import { Pager, usePageTokens } from "../components/pager.js";
import { Section } from "../components/section.js";
import { Table } from "../components/table.js";
import { formatTime, isLive, stateName } from "../format.js";
import { hrefOf } from "../route.js";
import { useLoad } from "../use-load.js";

/**
 * The plan in force, as the overview counts it: the latest subscription's while it is live,
 * FREE once it has ended (with the ended plan named, so the history stays visible).
 */
function planInForce(subscription: Subscription | undefined): string {
  if (subscription === undefined) return "free";
  if (isLive(subscription.state)) return subscription.planId;
  return `free (${subscription.planId} ${stateName(subscription.state)})`;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Search by tenant id, customer id or email, newest first, a page at a time. A tenant id
 * with no customer still opens its tenant page: FREE tenants have usage but no customer.
 */
export function CustomersPage({ api, query }: { api: Api; query: string }) {
  const [draft, setDraft] = useState(query);
  useEffect(() => setDraft(query), [query]);
  const trimmed = query.trim();
  return (
    <>
      <h1>Customers</h1>
      <search>
        <form
          class="search"
          onSubmit={(event) => {
            event.preventDefault();
            window.location.hash = hrefOf({ page: "customers", query: draft.trim() });
          }}
        >
          <label for="customer-query">Tenant id, customer id, email or name</label>
          <input
            id="customer-query"
            type="search"
            value={draft}
            onInput={(event) => setDraft(event.currentTarget.value)}
          />
          <button type="submit" class="primary">
            Search
          </button>
        </form>
      </search>
      {UUID.test(trimmed) && (
        <p>
          <a href={hrefOf({ page: "tenant", tenantId: trimmed.toLowerCase() })}>
            Open tenant {trimmed.toLowerCase()}
          </a>{" "}
          (its usage and limits, with or without a customer)
        </p>
      )}
      {/* A new query starts again from its first page. */}
      <Results key={query} api={api} query={query} />
    </>
  );
}

function Results({ api, query }: { api: Api; query: string }) {
  const pages = usePageTokens();
  const page = useLoad(
    () => api.billing.listCustomers({ query, pageSize: 20, pageToken: pages.token }),
    [api, query, pages.token],
  );
  const latest = new Map(page.data?.subscriptions.map((s) => [s.customerId, s]));
  const customers = page.data?.customers ?? [];
  return (
    <Section title="Results" id="customers" error={page.error} loading={page.loading}>
      {page.data && (
        <Table
          columns={["Customer", "Tenant", "Plan", "Subscription state", "Created"]}
          rowCount={customers.length}
          empty="No customer matches."
        >
          {customers.map((customer) => {
            const subscription = latest.get(customer.id);
            return (
              <tr key={customer.id}>
                <td>
                  <a href={hrefOf({ page: "tenant", tenantId: customer.tenantId })}>
                    {customer.name || customer.email}
                  </a>
                  <div class="muted">
                    {customer.email} · <code>{customer.id}</code>
                  </div>
                </td>
                <td>
                  <code>{customer.tenantId}</code>
                </td>
                <td data-field="plan">{planInForce(subscription)}</td>
                <td>{subscription ? stateName(subscription.state) : "never subscribed"}</td>
                <td>{formatTime(customer.createTime)}</td>
              </tr>
            );
          })}
        </Table>
      )}
      <Pager pages={pages} nextPageToken={page.data?.nextPageToken} />
    </Section>
  );
}
