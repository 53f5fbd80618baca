import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Decimal } from "decimal.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigError } from "../platform/config/config.js";
import { ceilingOf, createPlanCatalog, type PlanLimit, readCatalogSeed } from "./catalog.js";
import { featureValueJson } from "./features.js";

// The catalog a server starts from, read and checked as start-up does.
async function loadPlanCatalog(path: string | undefined) {
  const seed = await readCatalogSeed(path);
  return createPlanCatalog(seed.data, seed.label);
}

describe("the plan catalog a server starts from", () => {
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "tollgate-catalog-"));
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const problemsOf = async (path: string) => {
    const error = await loadPlanCatalog(path).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems;
  };

  it("should default to the seed's four tiers with exactly the seed's limits and prices", async () => {
    const catalog = await loadPlanCatalog(undefined);
    const table = catalog.plans.map((plan) => [
      plan.id,
      plan.priceId,
      plan.unitAmount?.toFixed(2),
      Object.fromEntries(
        plan.limits.map((l) => [l.resourceType, l.limit?.toFixed() ?? "unlimited"]),
      ),
    ]);
    expect(table).toEqual([
      [
        "free",
        undefined,
        "0.00",
        {
          executions: "100",
          tokens: "100000",
          storage_mb: "1000",
          api_calls: "1000",
          agents: "2",
          workflows: "5",
        },
      ],
      [
        "pro",
        "price_pro_monthly",
        "49.00",
        {
          executions: "10000",
          tokens: "10000000",
          storage_mb: "10000",
          api_calls: "100000",
          agents: "10",
          workflows: "100",
        },
      ],
      [
        "team",
        "price_team_monthly",
        "199.00",
        {
          executions: "100000",
          tokens: "100000000",
          storage_mb: "100000",
          api_calls: "1000000",
          agents: "50",
          workflows: "500",
        },
      ],
      [
        "enterprise",
        "price_enterprise_monthly",
        undefined,
        {
          executions: "unlimited",
          tokens: "unlimited",
          storage_mb: "unlimited",
          api_calls: "unlimited",
          agents: "unlimited",
          workflows: "unlimited",
        },
      ],
    ]);
    expect(catalog.defaultPlan.id).toBe("free");
    expect(Object.fromEntries(catalog.resourceKinds)).toEqual({
      executions: "consumable",
      tokens: "consumable",
      api_calls: "consumable",
      storage_mb: "allocation",
      agents: "allocation",
      workflows: "allocation",
    });
  });

  it("should ship overage on PRO and TEAM executions, tokens and api_calls, FREE hard, ENTERPRISE unlimited", async () => {
    const catalog = await loadPlanCatalog(undefined);
    const table = Object.fromEntries(
      catalog.plans.map((plan) => [
        plan.id,
        Object.fromEntries(
          plan.limits
            .filter((l) => l.overage !== undefined)
            .map((l) => [
              l.resourceType,
              [
                l.overage?.pricing.model === "per_unit"
                  ? l.overage.pricing.unitAmount.toFixed()
                  : l.overage?.pricing.model,
                l.overage?.cap?.toFixed(),
                l.overage?.meter?.eventName,
                l.overage?.meter?.meteredPriceId,
              ],
            ]),
        ),
      ]),
    );
    expect(table).toEqual({
      free: {},
      pro: {
        executions: ["0.006", "25000", "tollgate_executions", "price_pro_executions_metered"],
        tokens: ["0.000006", "25000000", "tollgate_tokens", "price_pro_tokens_metered"],
        api_calls: ["0.0005", "300000", "tollgate_api_calls", "price_pro_api_calls_metered"],
      },
      team: {
        executions: ["0.0025", "240000", "tollgate_executions", "price_team_executions_metered"],
        tokens: ["0.000002", "300000000", "tollgate_tokens", "price_team_tokens_metered"],
        api_calls: ["0.0002", "3000000", "tollgate_api_calls", "price_team_api_calls_metered"],
      },
      enterprise: {},
    });
    expect(catalog.meteredPrice("price_team_tokens_metered")?.limit.resourceType).toBe("tokens");
    expect(catalog.meteredPrice("price_pro_monthly")).toBeUndefined();
  });

  // Writes a catalog whose plans "a", "b", … have the given limits, and returns its path.
  const writePlans = async (name: string, ...limits: Record<string, unknown>[]) => {
    const path = join(dir, name);
    const plans = limits.map((planLimits, i) => {
      const id = String.fromCharCode(97 + i);
      return {
        id,
        display_name: id.toUpperCase(),
        price_id: `price_${id}`,
        currency: "usd",
        interval: "month",
        limits: planLimits,
      };
    });
    await writeFile(path, JSON.stringify({ default_plan: "a", plans }));
    return path;
  };

  it("should report every malformed overage field with its path", async () => {
    const path = await writePlans("overage-fields.json", {
      executions: { kind: "consumable", limit: "10", overage_unit_amount: "1e3" },
      tokens: {
        kind: "consumable",
        limit: "10",
        overage_unit_amount: "1",
        overage_cap: "-1",
      },
      calls: {
        kind: "consumable",
        limit: "10",
        overage_unit_amount: "1",
        meter_event_name: "has space",
        metered_price_id: "price/x",
      },
    });
    const problems = (await problemsOf(path)).join("\n");
    expect(problems).toMatch(
      /plans\.0\.limits\.executions\.overage_unit_amount: must be a decimal/,
    );
    expect(problems).toMatch(/plans\.0\.limits\.tokens\.overage_cap: must be a non-negative/);
    expect(problems).toMatch(/plans\.0\.limits\.calls\.meter_event_name: must be 1 to 100/);
    expect(problems).toMatch(/plans\.0\.limits\.calls\.metered_price_id: must be a Stripe id/);
  });

  it("should report every semantic overage problem at once with its path", async () => {
    const path = await writePlans(
      "overage-rules.json",
      {
        executions: {
          kind: "consumable",
          limit: "10",
          overage_unit_amount: "0.01",
          meter_event_name: "m_exec",
          metered_price_id: "price_exec",
        },
        seats: { kind: "allocation", limit: "1", overage_unit_amount: "1" },
        tokens: { kind: "consumable", limit: "5", overage_cap: "9" },
        calls: {
          kind: "consumable",
          limit: "5",
          overage_unit_amount: "1",
          meter_event_name: "m_calls",
        },
      },
      {
        executions: {
          kind: "consumable",
          limit: "10",
          overage_unit_amount: "0.01",
          meter_event_name: "m_other",
          metered_price_id: "price_exec",
        },
        runs: {
          kind: "consumable",
          limit: "1",
          overage_unit_amount: "1",
          meter_event_name: "m_exec",
          metered_price_id: "price_a",
        },
      },
    );
    const problems = (await problemsOf(path)).map((p) =>
      p.replace(`PLAN_CATALOG_PATH (${path}): `, ""),
    );
    expect(problems).toEqual([
      "plans[0].limits.seats.overage_unit_amount: allocations cannot have overage; only consumables are billed per unit used",
      "plans[0].limits.tokens.overage_cap: needs pricing or overage_unit_amount (only a soft limit has it)",
      "plans[0].limits.calls.metered_price_id: required with meter_event_name",
      'plans[1].limits.executions.meter_event_name: "m_other" differs from "m_exec" in an earlier plan; one resource feeds one meter',
      'plans[1].limits.executions.metered_price_id: "price_exec" repeats',
      'plans[1].limits.runs.meter_event_name: "m_exec" already meters executions',
      'plans[1]: metered price "price_a" is also a plan\'s price_id',
    ]);
  });

  it("should report every problem of meters and dimension limits at once with its path", async () => {
    const path = join(dir, "meters.json");
    const plan = (limits: Record<string, unknown>) => ({
      id: "a",
      display_name: "A",
      currency: "usd",
      interval: "month",
      limits,
    });
    await writeFile(
      path,
      JSON.stringify({
        default_plan: "a",
        meters: {
          tokens: { aggregation: "sum", dimensions: ["model", "model"] },
          users: { aggregation: "unique_count" },
          agents: { aggregation: "max", unique_key: "agent_id" },
          seats: { aggregation: "latest" },
          agents_latest: { aggregation: "latest" },
          calls: { aggregation: "median" },
          ghosts: { aggregation: "count" },
          members: { aggregation: "unique_count", unique_key: "user_id", dimensions: ["user_id"] },
        },
        plans: [
          plan({
            tokens: {
              kind: "consumable",
              limit: "10",
              dimension_limits: [
                { dimensions: { model: "gpt-4" }, limit: "5", overage_cap: "1" },
                { dimensions: { region: "eu" }, limit: "5" },
                { dimensions: {}, limit: "5" },
                { dimensions: { model: "gpt-4" }, limit: "6" },
              ],
            },
            users: { kind: "consumable", limit: "1" },
            agents: { kind: "consumable", limit: "1" },
            seats: { kind: "allocation", limit: "1" },
            agents_latest: {
              kind: "consumable",
              limit: "1",
              overage_unit_amount: "1",
              meter_event_name: "m_agents",
              metered_price_id: "price_agents",
            },
            members: { kind: "consumable", limit: "1" },
          }),
        ],
      }),
    );
    const problems = (await problemsOf(path)).map((p) =>
      p.replace(`PLAN_CATALOG_PATH (${path}): `, ""),
    );
    expect(problems).toEqual([
      "meters.tokens.dimensions: names a dimension twice",
      "meters.users.unique_key: required for a unique_count meter (the attribute naming the member)",
      "meters.agents.unique_key: only a unique_count meter has one, not max",
      'meters.calls.aggregation: "median" is not one of sum, count, unique_count, max, latest',
      'meters.members.dimensions: "user_id" is the unique_key, not a dimension',
      "plans[0].limits.tokens.dimension_limits[1].dimensions.region: is not a dimension of the tokens meter (declared: model, model)",
      "plans[0].limits.tokens.dimension_limits[2].dimensions: names no dimension; the resource's own limit is the total",
      "plans[0].limits.tokens.dimension_limits[3].dimensions: repeats an earlier dimension limit",
      "plans[0].limits.tokens.dimension_limits[0].overage_cap: needs pricing or overage_unit_amount (only a soft limit has it)",
      "plans[0].limits.seats.kind: an allocation is a level that goes up and down; its meter must be sum, not latest",
      "plans[0].limits.agents_latest.meter_event_name: a latest meter's value can go down, and the provider's meter only adds increments; bill it by the invoice instead",
      "meters.calls: no plan has this resource",
      "meters.ghosts: no plan has this resource",
    ]);
  });

  it("should load an operator's YAML catalog", async () => {
    const path = join(dir, "plans.yaml");
    await writeFile(
      path,
      [
        "default_plan: hobby",
        "plans:",
        "  - id: hobby",
        "    display_name: Hobby",
        "    currency: eur",
        "    interval: year",
        "    limits:",
        "      seats: { kind: allocation, limit: '3' }",
        "  - id: scale",
        "    display_name: Scale",
        "    price_id: price_scale_yearly",
        "    unit_amount: '990.00'",
        "    currency: eur",
        "    interval: year",
        "    limits:",
        "      seats: { kind: allocation, unlimited: true }",
      ].join("\n"),
    );
    const catalog = await loadPlanCatalog(path);
    expect(catalog.plans.map((p) => p.id)).toEqual(["hobby", "scale"]);
    expect(catalog.planByPriceId("price_scale_yearly")?.interval).toBe("year");
    expect(catalog.planByPriceId("price_scale_yearly")?.limits[0]?.limit).toBeUndefined();
  });

  it("should default alert thresholds to 80 % and 100 %, and take a limit's own, sorted", async () => {
    const defaults = await loadPlanCatalog(undefined);
    expect(
      defaults.planById("free")?.limits.map((l) => l.alertThresholds.map((f) => f.toFixed())),
    ).toEqual(Array(6).fill(["0.8", "1"]));
    const path = join(dir, "thresholds.yaml");
    await writeFile(
      path,
      hobbyPlan([
        "runs: { kind: consumable, limit: '10', alert_thresholds: [1.5, 0.5, 1, 0.5] }",
        "seats: { kind: allocation, limit: '3', alert_thresholds: [] }",
      ]),
    );
    const [runs, seats] = (await loadPlanCatalog(path)).plans[0]?.limits ?? [];
    expect(runs?.alertThresholds.map((f) => f.toFixed())).toEqual(["0.5", "1", "1.5"]);
    expect(seats?.alertThresholds).toEqual([]);
    await writeFile(
      path,
      hobbyPlan(["runs: { kind: consumable, limit: '10', alert_thresholds: [0, 11] }"]),
    );
    expect((await problemsOf(path)).join("\n")).toMatch(
      /alert_thresholds\.0: must be above 0[\s\S]*alert_thresholds\.1: must be at most 10/,
    );
  });

  it("should report every problem of a bad file with its path", async () => {
    const path = join(dir, "bad.json");
    await writeFile(
      path,
      JSON.stringify({
        default_plan: "free",
        plans: [
          {
            id: "Free",
            display_name: "Free",
            currency: "USD",
            interval: "week",
            limits: { executions: { kind: "consumable", limit: "-1" } },
          },
        ],
      }),
    );
    const problems = await problemsOf(path);
    expect(problems.join("\n")).toMatch(/plans\.0\.id/);
    expect(problems.join("\n")).toMatch(/plans\.0\.currency/);
    expect(problems.join("\n")).toMatch(/plans\.0\.interval/);
    expect(problems.join("\n")).toMatch(/plans\.0\.limits\.executions/);
    expect(problems.every((p) => p.startsWith(`PLAN_CATALOG_PATH (${path}): `))).toBe(true);
  });

  it("should refuse conflicting kinds, repeated ids and prices, and a missing default plan", async () => {
    const path = join(dir, "conflicts.json");
    const plan = (id: string, kind: string) => ({
      id,
      display_name: id,
      price_id: "price_same",
      currency: "usd",
      interval: "month",
      limits: { agents: { kind, limit: "1" } },
    });
    await writeFile(
      path,
      JSON.stringify({
        default_plan: "nope",
        plans: [plan("a", "allocation"), plan("a", "consumable")],
      }),
    );
    const problems = await problemsOf(path);
    expect(problems).toHaveLength(4);
    expect(problems.join("\n")).toContain('plans[1].id: "a" repeats');
    expect(problems.join("\n")).toContain('plans[1].price_id: "price_same" repeats');
    expect(problems.join("\n")).toContain("is consumable here but allocation in an earlier plan");
    expect(problems.join("\n")).toContain('default_plan: "nope" is not a plan id');
  });

  it("should give the default tiers features without changing their limits", async () => {
    const catalog = await loadPlanCatalog(undefined);
    const table = catalog.plans.map((plan) => [
      plan.id,
      Object.fromEntries(
        [...plan.features].map(([name, { value, source }]) => [
          name,
          `${featureValueJson(value)} (${source})`,
        ]),
      ),
    ]);
    expect(table).toEqual([
      [
        "free",
        {
          sso: "false (default)",
          priority_support: "false (default)",
          retention_days: "7 (default)",
          support: "community (default)",
        },
      ],
      [
        "pro",
        {
          sso: "false (default)",
          priority_support: "false (default)",
          retention_days: "30 (plan)",
          support: "email (plan)",
        },
      ],
      [
        "team",
        {
          sso: "true (plan)",
          priority_support: "false (default)",
          retention_days: "90 (plan)",
          support: "email (plan)",
        },
      ],
      [
        "enterprise",
        {
          sso: "true (plan)",
          priority_support: "true (plan)",
          retention_days: "365 (plan)",
          support: "priority (plan)",
        },
      ],
    ]);
  });

  it("should report every problem of features at once with its path", async () => {
    const path = join(dir, "features.json");
    await writeFile(
      path,
      JSON.stringify({
        default_plan: "a",
        features: {
          sso: { type: "boolean", default: "maybe" },
          tier: { type: "colour", default: "red" },
          support: { type: "string", values: ["email", "email"], default: "phone" },
          days: { type: "number", default: "7", values: ["7"] },
        },
        plans: [
          {
            id: "a",
            display_name: "A",
            currency: "usd",
            interval: "month",
            limits: {},
            features: { days: "-3", saml: true },
          },
        ],
      }),
    );
    const problems = (await problemsOf(path)).join("\n");
    for (const expected of [
      "features.sso.default: must be true or false",
      'features.tier.type: "colour" is not one of boolean, number, string',
      "features.support.values: names a value twice",
      "features.support.default: must be one of email, email",
      "features.days.values: only a string feature lists its values",
      "plans[0].features.saml: is not a declared feature",
      "plans[0].features.days: must be a non-negative decimal string",
    ]) {
      expect(problems).toContain(expected);
    }
  });

  it("should read rolling windows and refuse every misuse of one at once", async () => {
    const good = await writePlans("windows.json", {
      requests: { kind: "consumable", limit: "60", window: "60s" },
      daily: { kind: "consumable", limit: "5000", window: "1d" },
      executions: { kind: "consumable", limit: "100" },
    });
    const catalog = await loadPlanCatalog(good);
    expect(catalog.plans[0]?.limits.map((l) => [l.resourceType, l.window])).toEqual([
      ["requests", 60_000],
      ["daily", 86_400_000],
      ["executions", undefined],
    ]);
    const bad = await writePlans("bad-windows.json", {
      a: { kind: "consumable", limit: "1", window: "0s" },
      b: { kind: "consumable", limit: "1", window: "2d" },
      c: { kind: "consumable", limit: "1", window: "soon" },
      d: { kind: "allocation", limit: "1", window: "60s" },
      e: {
        kind: "consumable",
        limit: "1",
        window: "60s",
        overage_unit_amount: "0.01",
        alert_thresholds: [0.5],
      },
    });
    const problems = (await problemsOf(bad)).join("\n");
    for (const expected of [
      'limits.a.window: "0s" must be a length from 1s to 1d',
      'limits.b.window: "2d" must be a length from 1s to 1d',
      'limits.c.window: "soon" must be a length',
      "limits.d.window: only a consumable can be counted over a window",
      "limits.e.overage_unit_amount: a rolling window is never billed or alerted",
      "limits.e.alert_thresholds: a rolling window is never billed or alerted",
    ]) {
      expect(problems).toContain(expected);
    }
  });

  it("should refuse unreadable files, unknown extensions and unparsable text", async () => {
    expect((await problemsOf(join(dir, "missing.json")))[0]).toContain("cannot be read");
    const txt = join(dir, "plans.txt");
    await writeFile(txt, "{}");
    expect((await problemsOf(txt))[0]).toContain("must end in .json, .yaml or .yml");
    const broken = join(dir, "broken.json");
    await writeFile(broken, "{ nope");
    expect(await problemsOf(broken)).toHaveLength(1);
  });
});

// A one-plan YAML catalog with the given limit lines.
function hobbyPlan(limits: string[]): string {
  return [
    "default_plan: hobby",
    "plans:",
    "  - id: hobby",
    "    display_name: Hobby",
    "    currency: eur",
    "    interval: month",
    "    limits:",
    ...limits.map((line) => `      ${line}`),
  ].join("\n");
}

describe(ceilingOf.name, () => {
  const limit = (allowance: string | undefined, overage?: { cap?: string }): PlanLimit => ({
    resourceType: "executions",
    kind: "consumable",
    limit: allowance === undefined ? undefined : new Decimal(allowance),
    overage: overage && {
      unitAmount: new Decimal("0.01"),
      cap: overage.cap === undefined ? undefined : new Decimal(overage.cap),
      meter: undefined,
    },
    alertThresholds: [],
    dimensions: {},
    dimensionLimits: [],
  });

  it("should deny past a hard limit's allowance, and past a soft limit's allowance plus its cap", () => {
    expect(ceilingOf(limit("100"))).toEqual(new Decimal(100));
    expect(ceilingOf(limit("10000", { cap: "25000" }))).toEqual(new Decimal(35_000));
  });

  it("should never deny an unlimited resource or a soft limit without a cap", () => {
    expect(ceilingOf(limit(undefined))).toBeUndefined();
    expect(ceilingOf(limit("10000", {}))).toBeUndefined();
  });
});
