import { useEffect, useState } from "preact/hooks";
import type { Api } from "../api.js";
import { Section } from "../components/section.js";
import { formatTime, stateName } from "../format.js";
import { hrefOf } from "../route.js";
import { useLoad } from "../use-load.js";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Search by tenant id, customer id or email, newest first, a page at a time. A tenant id
 * with no customer still opens its tenant page: FREE tenants have usage but no customer.
 */
export function CustomersPage({ api, query }: { api: Api; query: string }) {
  const [draft, setDraft] = useState(query);
  // Tokens of the pages before the current one, for "Previous page".
  const [tokens, setTokens] = useState<string[]>([""]);
  useEffect(() => {
    setDraft(query);
    setTokens([""]);
  }, [query]);
  const token = tokens.at(-1) ?? "";
  const page = useLoad(
    () => api.billing.listCustomers({ query, pageSize: 20, pageToken: token }),
    [api, query, token],
  );
  const plans = new Map(page.data?.subscriptions.map((s) => [s.customerId, s]));
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
      <Section title="Results" id="customers" error={page.error} loading={page.loading}>
        {page.data?.customers.length === 0 && <p>No customer matches.</p>}
        {page.data && page.data.customers.length > 0 && (
          <div class="scroll">
            <table>
              <thead>
                <tr>
                  <th scope="col">Customer</th>
                  <th scope="col">Tenant</th>
                  <th scope="col">Latest plan</th>
                  <th scope="col">Subscription state</th>
                  <th scope="col">Created</th>
                </tr>
              </thead>
              <tbody>
                {page.data.customers.map((customer) => {
                  const subscription = plans.get(customer.id);
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
                      <td>{subscription?.planId ?? "free"}</td>
                      <td>{subscription ? stateName(subscription.state) : "never subscribed"}</td>
                      <td>{formatTime(customer.createTime)}</td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
        )}
        <div class="pager">
          <button
            type="button"
            disabled={tokens.length < 2}
            onClick={() => setTokens((list) => list.slice(0, -1))}
          >
            Previous page
          </button>
          <button
            type="button"
            disabled={!page.data?.nextPageToken}
            onClick={() => {
              const next = page.data?.nextPageToken;
              if (next) setTokens((list) => [...list, next]);
            }}
          >
            Next page
          </button>
        </div>
      </Section>
    </>
  );
}
