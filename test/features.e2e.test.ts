import { randomUUID } from "node:crypto";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type Feature,
  FeatureSource,
  FeatureType,
} from "../gen/tollgate/v1/entitlement_service_pb.js";
import { createManualClock } from "../src/platform/clock/clock.js";
import { queryRows, startTestApp, type TestApp } from "./support/app.js";
import { errorOf, grpcTransport, tollgateClients } from "./support/clients.js";
import { createTestDatabase, type TestDatabase } from "./support/database.js";
import { useReplicas } from "./support/replicas.js";
import type { ServerProcess } from "./support/server-process.js";

const DAY = 86_400_000;

type Clients = ReturnType<typeof tollgateClients>;

// A feature's value as the test compares it: the oneof's value, whatever its case.
const valueIn = (feature: Feature | undefined) => feature?.value.value;

const featureMap = (features: Feature[]) =>
  Object.fromEntries(features.map((f) => [f.name, [valueIn(f), FeatureSource[f.source]]]));

async function subscribe(api: Clients, tenantId: string, priceId: string) {
  const { customer } = await api.billing.createCustomer({ tenantId, email: "f@example.com" });
  return api.billing.createSubscription({ customerId: customer?.id ?? "", priceId });
}

async function updates(api: Clients, tenantId: string) {
  const { events } = await api.events.listEvents({ tenantId, types: ["entitlement.updated"] });
  // ListEvents answers newest first; the test reads them in the order they happened.
  return events.map((e) => e.data as Record<string, Record<string, unknown>>).reverse();
}

describe("feature entitlements (one server, a manual clock)", () => {
  const clock = createManualClock(new Date("2026-03-10T12:00:00.000Z"));
  let db: TestDatabase;
  let server: TestApp;
  let api: Clients;

  beforeAll(async () => {
    db = await createTestDatabase();
    server = await startTestApp(
      db.url,
      { clock },
      { BILLING_RATE_LIMIT_BURST: "100000", BILLING_SWEEP_INTERVAL_SECONDS: "1" },
    );
    api = tollgateClients(grpcTransport(server.baseUrl));
  });

  afterAll(async () => {
    await server?.stop();
    await db?.drop();
  });

  it("should give each plan its values, and the defaults where a plan sets none", async () => {
    // given: a tenant without a subscription (the default plan) and one on TEAM
    const free = randomUUID();
    const team = randomUUID();
    await subscribe(api, team, "price_team_monthly");

    // when
    const onFree = await api.entitlements.getFeatures({ tenantId: free });
    const onTeam = await api.entitlements.getFeatures({ tenantId: team });

    // then
    expect(onFree.planId).toBe("free");
    expect(featureMap(onFree.features)).toEqual({
      sso: [false, "DEFAULT"],
      priority_support: [false, "DEFAULT"],
      retention_days: ["7", "DEFAULT"],
      support: ["community", "DEFAULT"],
    });
    expect(onTeam.planId).toBe("team");
    expect(featureMap(onTeam.features)).toEqual({
      sso: [true, "PLAN"],
      priority_support: [false, "DEFAULT"],
      retention_days: ["90", "PLAN"],
      support: ["email", "PLAN"],
    });
    expect(onTeam.features.map((f) => FeatureType[f.type])).toEqual([
      "BOOLEAN",
      "BOOLEAN",
      "NUMBER",
      "STRING",
    ]);
    const sso = await api.entitlements.checkFeature({ tenantId: team, feature: "sso" });
    expect(sso.enabled).toBe(true);
    const retention = await api.entitlements.checkFeature({
      tenantId: free,
      feature: "retention_days",
    });
    expect([retention.enabled, valueIn(retention.feature)]).toEqual([false, "7"]);
    const support = await api.entitlements.checkFeature({ tenantId: team, feature: "support" });
    expect([support.enabled, valueIn(support.feature)]).toEqual([true, "email"]);
  });

  it("should refuse unknown features and values of the wrong type, all problems at once, changing nothing", async () => {
    const tenantId = randomUUID();
    const unknown = await errorOf(api.entitlements.checkFeature({ tenantId, feature: "saml" }));
    expect(unknown.code).toBe(Code.InvalidArgument);
    expect(unknown.rawMessage).toContain("known: sso, priority_support, retention_days, support");

    const wrong = await errorOf(
      api.entitlements.setFeatureOverride({
        tenantId: "not-a-uuid",
        feature: "retention_days",
        value: "ninety",
        expireTime: timestampFromDate(new Date(clock.now().getTime() - DAY)),
      }),
    );
    expect(wrong.code).toBe(Code.InvalidArgument);
    for (const field of ["tenant_id", "value", "expire_time"]) {
      expect(wrong.rawMessage).toContain(field);
    }
    for (const [feature, value] of [
      ["sso", "yes"],
      ["support", "platinum"],
      ["retention_days", "-1"],
    ]) {
      const error = await errorOf(
        api.entitlements.setFeatureOverride({ tenantId, feature, value }),
      );
      expect([feature, error.code]).toEqual([feature, Code.InvalidArgument]);
    }
    const stored = await api.entitlements.listFeatureOverrides({ tenantId, includeExpired: true });
    expect(stored.overrides).toEqual([]);
    expect(await updates(api, tenantId)).toEqual([]);
  });

  it("should apply an override until it expires, announcing each change once", async () => {
    // given: a FREE tenant with a two-day SSO override, set twice with one request id
    const tenantId = randomUUID();
    const set = {
      tenantId,
      feature: "sso",
      value: "true",
      expireTime: timestampFromDate(new Date(clock.now().getTime() + 2 * DAY)),
      requestId: `sso-${tenantId}`,
    };
    const first = await api.entitlements.setFeatureOverride(set);
    const retry = await api.entitlements.setFeatureOverride(set);
    expect(retry.override?.updateTime).toEqual(first.override?.updateTime);
    await api.entitlements.setFeatureOverride({ tenantId, feature: "retention_days", value: "30" });

    // then: the override wins, with its source and expiry
    const during = await api.entitlements.checkFeature({ tenantId, feature: "sso" });
    expect([during.enabled, FeatureSource[during.feature?.source ?? 0]]).toEqual([
      true,
      "OVERRIDE",
    ]);
    expect(during.feature?.overrideExpireTime).toEqual(set.expireTime);
    const announced = await updates(api, tenantId);
    expect(announced.map((e) => e.changed)).toEqual([["sso"], ["retention_days"]]);
    expect(announced[0]?.before?.features).toMatchObject({ sso: false, retention_days: "7" });
    expect(announced[0]?.after?.features).toMatchObject({ sso: true, retention_days: "7" });
    expect(announced[1]?.before).toEqual(announced[0]?.after);

    // when: the clock passes the expiry, and the expiry sweep runs on its own
    clock.set(new Date(clock.now().getTime() + 3 * DAY));
    const after = await api.entitlements.checkFeature({ tenantId, feature: "sso" });
    expect([after.enabled, FeatureSource[after.feature?.source ?? 0]]).toEqual([false, "DEFAULT"]);
    await expect
      .poll(async () => (await updates(api, tenantId)).length, { timeout: 10_000 })
      .toBe(3);

    // then: the expiry is one event, and the sweep finds nothing more to say
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    const all = await updates(api, tenantId);
    expect(all.map((e) => e.changed)).toEqual([["sso"], ["retention_days"], ["sso"]]);
    expect(all[2]?.after?.features).toMatchObject({ sso: false, retention_days: "30" });
    const listed = await api.entitlements.listFeatureOverrides({ tenantId, includeExpired: false });
    expect(listed.overrides.map((o) => o.feature)).toEqual(["retention_days"]);

    // when: the remaining override is deleted, and a delete without one is NOT_FOUND
    await api.entitlements.deleteFeatureOverride({ tenantId, feature: "retention_days" });
    expect(
      (await errorOf(api.entitlements.deleteFeatureOverride({ tenantId, feature: "support" })))
        .code,
    ).toBe(Code.NotFound);
    const final = await updates(api, tenantId);
    expect(final.map((e) => e.changed)).toEqual([
      ["sso"],
      ["retention_days"],
      ["sso"],
      ["retention_days"],
    ]);
    const audit = await queryRows<{ action: string }>(
      db.url,
      "select action from audit_events where tenant_id = $1 order by create_time",
      [tenantId],
    );
    expect(audit.map((row) => row.action)).toEqual([
      "feature_override.set",
      "feature_override.set",
      "feature_override.delete",
    ]);
  });

  it("should announce a limit override and a plan change with limits before and after", async () => {
    const tenantId = randomUUID();
    await api.entitlements.setEntitlementOverride({
      tenantId,
      resourceType: "executions",
      limit: "250",
    });
    await subscribe(api, tenantId, "price_pro_monthly");
    const [override, upgrade] = await updates(api, tenantId);
    expect(override?.changed).toEqual(["executions"]);
    expect([override?.before?.limits, override?.after?.limits]).toMatchObject([
      { executions: "100" },
      { executions: "250" },
    ]);
    expect(upgrade?.before?.plan_id).toBe("free");
    expect(upgrade?.after).toMatchObject({
      plan_id: "pro",
      limits: { executions: "250", agents: "10" },
      features: { retention_days: "30", support: "email" },
    });
    expect(upgrade?.changed).toEqual(
      expect.arrayContaining(["plan_id", "retention_days", "support", "agents"]),
    );
    expect(upgrade?.changed).not.toContain("executions");
  });
});

describe("entitlement.updated on two replicas", () => {
  const suite = useReplicas(2, { BILLING_RATE_LIMIT_BURST: "100000" });

  it("should announce a plan upgrade racing an override exactly once each, in a chain", async () => {
    const [a, b] = suite.servers.map((s) =>
      tollgateClients(grpcTransport((s as ServerProcess).baseUrl)),
    );
    const tenants = Array.from({ length: 12 }, () => randomUUID());
    const customers = await Promise.all(
      tenants.map((tenantId) =>
        (a as Clients).billing.createCustomer({ tenantId, email: "r@example.com" }),
      ),
    );

    // when: each tenant's upgrade on one replica races its override on the other
    await Promise.all(
      tenants.flatMap((tenantId, i) => [
        (a as Clients).billing.createSubscription({
          customerId: customers[i]?.customer?.id ?? "",
          priceId: "price_team_monthly",
        }),
        (b as Clients).entitlements.setFeatureOverride({
          tenantId,
          feature: "retention_days",
          value: "400",
          requestId: `race-${tenantId}`,
        }),
      ]),
    );

    // then: two events per tenant, the second starting where the first ended
    for (const tenantId of tenants) {
      const events = await updates(a as Clients, tenantId);
      expect(events).toHaveLength(2);
      expect(events[0]?.before?.plan_id).toBe("free");
      expect(events[1]?.before).toEqual(events[0]?.after);
      expect(events[1]?.after).toMatchObject({
        plan_id: "team",
        features: { sso: true, retention_days: "400" },
      });
    }
  });
});
