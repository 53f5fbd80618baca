import { Code } from "@connectrpc/connect";
import { useState } from "preact/hooks";
import type { Api } from "../api.js";
import { hasCode, settle } from "../api.js";
import { Section } from "../components/section.js";
import { TenantActivity } from "../components/tenant-activity.js";
import { TenantEvents } from "../components/tenant-events.js";
import { TenantFeatures } from "../components/tenant-features.js";
import { TenantGrants } from "../components/tenant-grants.js";
import { TenantInvoice } from "../components/tenant-invoice.js";
import { TenantOverrides } from "../components/tenant-overrides.js";
import { TenantSubscription } from "../components/tenant-subscription.js";
import { TenantUsageChart } from "../components/tenant-usage-chart.js";
import { UsageBar } from "../components/usage-bar.js";
import { useLoad } from "../use-load.js";

// Bars follow live usage while the page is open.
const USAGE_REFRESH_MS = 5_000;

// Everything the page shows besides live usage, fetched together; each part keeps its own
// error. A tenant without a customer (FREE, usage only) is normal, not an error.
async function loadTenant(api: Api, tenantId: string) {
  const [customer, subscriptions, grants, overrides, events, audit, invoice, plans, features] =
    await Promise.all([
      settle(api.billing.getCustomer({ tenantId })),
      settle(api.billing.listSubscriptions({ tenantId, pageSize: 10 })),
      settle(api.entitlements.listGrants({ tenantId, includeExpired: true })),
      settle(api.entitlements.listEntitlementOverrides({ tenantId, includeExpired: true })),
      settle(api.events.listEvents({ tenantId, pageSize: 20 })),
      settle(api.billing.listAuditEvents({ tenantId, pageSize: 20 })),
      settle(api.billing.getUpcomingInvoice({ tenantId })),
      settle(api.billing.listPlans({})),
      settle(api.entitlements.getFeatures({ tenantId })),
    ]);
  return { customer, subscriptions, grants, overrides, events, audit, invoice, plans, features };
}

/** One tenant: who it is, what it may use, what it used, and what changed. */
export function TenantPage({ api, tenantId }: { api: Api; tenantId: string }) {
  const details = useLoad(() => loadTenant(api, tenantId), [api, tenantId]);
  const usage = useLoad(
    () => api.entitlements.getEntitlements({ tenantId }),
    [api, tenantId],
    USAGE_REFRESH_MS,
  );
  // Bumped by changes made on this page, so the parts that load on their own follow.
  const [revision, setRevision] = useState(0);
  const reload = () => {
    details.reload();
    usage.reload();
    setRevision((r) => r + 1);
  };
  const d = details.data;
  const customer = d?.customer.ok ? d.customer.value.customer : undefined;
  const noCustomer = d !== undefined && !d.customer.ok && hasCode(d.customer.error, Code.NotFound);
  const entitlements = usage.data?.entitlements ?? [];
  const resources = [...new Set(entitlements.map((e) => e.resourceType))];
  const dimensions = [...new Set(entitlements.flatMap((e) => Object.keys(e.dimensions)))];
  return (
    <>
      <div class="page-head">
        <h1>
          {customer ? customer.name || customer.email : "Tenant"} <code class="id">{tenantId}</code>
        </h1>
        <button type="button" onClick={reload} disabled={details.loading || usage.loading}>
          Refresh
        </button>
      </div>
      <Section
        title="Customer"
        id="customer"
        error={d && !d.customer.ok && !noCustomer ? d.customer.error : undefined}
        loading={details.loading}
      >
        {customer && (
          <dl class="facts">
            <dt>Customer id</dt>
            <dd>
              <code>{customer.id}</code>
            </dd>
            <dt>Email</dt>
            <dd>{customer.email}</dd>
            <dt>Name</dt>
            <dd>{customer.name || "—"}</dd>
          </dl>
        )}
        {noCustomer && (
          <p>No billing customer: this tenant is on the FREE plan and has never been billed.</p>
        )}
      </Section>
      {d && (
        <TenantSubscription
          api={api}
          tenantId={tenantId}
          customerId={customer?.id}
          subscriptions={d.subscriptions}
          plans={d.plans}
          onChanged={reload}
        />
      )}
      <Section
        title={`Usage against limits${usage.data ? ` (plan ${usage.data.planId})` : ""}`}
        id="usage"
        error={usage.error}
        loading={usage.loading}
      >
        <ul class="usage-list">
          {entitlements.map((entitlement) => (
            <UsageBar
              key={`${entitlement.resourceType}${JSON.stringify(entitlement.dimensions)}`}
              entitlement={entitlement}
            />
          ))}
        </ul>
        {usage.data && (
          <p class="hint">Updates every {USAGE_REFRESH_MS / 1000} s while this page is open.</p>
        )}
      </Section>
      <TenantUsageChart
        api={api}
        tenantId={tenantId}
        resources={resources}
        dimensions={dimensions}
        revision={revision}
      />
      <TenantEvents api={api} tenantId={tenantId} resources={resources} onChanged={reload} />
      {d && <TenantInvoice invoice={d.invoice} />}
      {d && (
        <TenantGrants
          api={api}
          tenantId={tenantId}
          resources={resources}
          grants={d.grants}
          onChanged={reload}
        />
      )}
      {d && (
        <TenantOverrides
          api={api}
          tenantId={tenantId}
          resources={resources}
          overrides={d.overrides}
          onChanged={reload}
        />
      )}
      {d && (
        <TenantFeatures api={api} tenantId={tenantId} features={d.features} onChanged={reload} />
      )}
      {d && <TenantActivity events={d.events} audit={d.audit} />}
    </>
  );
}
