import { randomUUID } from "node:crypto";
import { Decimal } from "decimal.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ADMISSION_OP_FIELDS,
  encodeComposites,
  type WireDecision,
  type WireOp,
} from "../src/entitlements/admission-wire.js";
import { wireOp } from "./support/admission-ops.js";
import { queryRows } from "./support/app.js";
import { createMigratedDatabase, type TestDatabase } from "./support/database.js";

/*
 * `tollgate_admit` on its own, through the wire form the store sends: one tenant's calls of a
 * batch decided in arrival order per counter, whatever their kinds, with idempotent repeats,
 * reservations and deadlines, in one call of the function.
 */

let db: TestDatabase;

beforeAll(async () => {
  db = await createMigratedDatabase();
});
afterAll(async () => {
  await db?.drop();
});

describe("tollgate_admit", () => {
  const admit = (tenantId: string, ops: WireOp[]) =>
    queryRows<WireDecision>(
      db.url,
      "select * from tollgate_admit($1, $2::tollgate_admission_op[], now()) order by position",
      [tenantId, encodeComposites(ADMISSION_OP_FIELDS, ops)],
    );
  const counter = async (tenantId: string, resourceType = "tokens") =>
    (
      await queryRows<{ used: string; reserved: string }>(
        db.url,
        "select used::text, reserved::text from usage_counters where tenant_id = $1 and resource_type = $2",
        [tenantId, resourceType],
      )
    )[0];

  it("should decide a counter's calls in arrival order: a call that does not fit records nothing, a smaller later one may", async () => {
    const tenant = randomUUID();
    const decisions = await admit(tenant, [
      wireOp(1, { quantity: new Decimal(6) }),
      wireOp(2, { quantity: new Decimal(5) }),
      wireOp(3, {
        kind: "hold",
        quantity: new Decimal(3),
        reservationId: randomUUID(),
        hold: hold(),
      }),
      wireOp(4, { quantity: new Decimal(2) }),
      wireOp(5, { kind: "add", quantity: new Decimal(-100), limits: undefined }),
      wireOp(6, { quantity: new Decimal(7) }),
    ]);
    expect(decisions.map((d) => [d.outcome, d.admitted, d.used, d.reserved])).toEqual([
      ["done", true, "6", "0"],
      ["done", false, "6", "0"],
      ["done", true, "6", "3"],
      ["done", false, "6", "3"],
      // an addition never takes usage below zero
      ["done", null, "0", "3"],
      ["done", true, "7", "3"],
    ]);
    expect(await counter(tenant)).toEqual({ used: "7", reserved: "3" });
  });

  it("should keep counters apart and let one key's repeat in the batch replay its first answer", async () => {
    const tenant = randomUUID();
    const keyed = (position: number, resourceType: string, quantity: number) =>
      wireOp(position, {
        resourceType,
        quantity: new Decimal(quantity),
        idempotency: { key: `k-${resourceType}`, operation: "check_and_record", fingerprint: "f" },
        answerTemplate: { allowed: true, entitlement: { resourceType } },
      });
    const decisions = await admit(tenant, [
      keyed(1, "tokens", 4),
      keyed(2, "api_calls", 9),
      keyed(3, "tokens", 4),
    ]);
    expect(decisions.map((d) => [d.outcome, d.used])).toEqual([
      ["done", "4"],
      ["done", "9"],
      ["replay", null],
    ]);
    expect(decisions[2]?.replay).toMatchObject({
      operation: "check_and_record",
      response: { template: { entitlement: { resourceType: "tokens" } }, decision: { used: "4" } },
    });
    // and a later batch with the key replays the stored answer without recording again
    const again = await admit(tenant, [keyed(1, "tokens", 4)]);
    expect(again[0]?.outcome).toBe("replay");
    expect(await counter(tenant)).toEqual({ used: "4", reserved: "0" });
  });

  it("should end a hold once: a commit records the actual quantity, a repeat is unchanged, a release after it refused", async () => {
    const tenant = randomUUID();
    const id = randomUUID();
    await admit(tenant, [
      wireOp(1, { kind: "hold", quantity: new Decimal(5), reservationId: id, hold: hold() }),
    ]);
    const settle = (kind: "commit" | "release", quantity?: number) =>
      admit(tenant, [
        wireOp(1, {
          kind,
          quantity: quantity === undefined ? undefined : new Decimal(quantity),
          limits: undefined,
          reservationId: id,
        }),
      ]);
    const committed = await settle("commit", 2);
    expect(committed.map((d) => [d.outcome, d.reservation_state, d.used, d.reserved])).toEqual([
      ["done", "committed", "2", "0"],
    ]);
    expect((await settle("commit", 2))[0]?.outcome).toBe("unchanged");
    expect((await settle("release"))[0]?.outcome).toBe("refused");
    // another tenant's reservation is not found in this tenant's call
    const other = await admit(randomUUID(), [
      wireOp(1, { kind: "release", quantity: undefined, limits: undefined, reservationId: id }),
    ]);
    expect(other[0]?.outcome).toBe("not_found");
    expect(await counter(tenant)).toEqual({ used: "2", reserved: "0" });
  });

  it("should free expired holds before denying, and drop calls whose caller stopped waiting", async () => {
    const tenant = randomUUID();
    await admit(tenant, [
      wireOp(1, {
        kind: "hold",
        quantity: new Decimal(8),
        reservationId: randomUUID(),
        hold: { expireTime: new Date(Date.now() - 1000), createTime: new Date() },
      }),
    ]);
    const decisions = await admit(tenant, [
      wireOp(1, { quantity: new Decimal(5), budgetMs: -1 }),
      wireOp(2, { quantity: new Decimal(5) }),
    ]);
    expect(decisions.map((d) => [d.outcome, d.admitted])).toEqual([
      ["deadline", null],
      ["done", true],
    ]);
    expect(await counter(tenant)).toEqual({ used: "5", reserved: "0" });
  });
});

describe("tollgate_admit_batch", () => {
  it("should decide several tenants' shares in one call, simple and not, each in arrival order", async () => {
    // given three tenants: one whose calls all fit, one that reaches its limit, one keyed
    const [a, b, c] = [randomUUID(), randomUUID(), randomUUID()].sort();
    const shares: [string, WireOp[]][] = [
      [
        a as string,
        [wireOp(1, { quantity: new Decimal(2) }), wireOp(2, { kind: "add", limits: undefined })],
      ],
      [
        b as string,
        [wireOp(3, { quantity: new Decimal(8) }), wireOp(4, { quantity: new Decimal(8) })],
      ],
      [
        c as string,
        [
          wireOp(5, {
            idempotency: { key: "k", operation: "check_and_record", fingerprint: "f" },
            answerTemplate: {},
          }),
        ],
      ],
    ];
    const run = () =>
      queryRows<WireDecision>(
        db.url,
        `select * from tollgate_admit_batch($1::uuid[], $2::int[], $3::int[],
           $4::tollgate_admission_op[], now()) order by position`,
        [
          shares.map(([t]) => t),
          [1, 3, 5],
          [2, 4, 5],
          encodeComposites(
            ADMISSION_OP_FIELDS,
            shares.flatMap(([, ops]) => ops),
          ),
        ],
      );

    // when the batch runs twice (the second time every counter exists)
    const first = await run();
    const second = await run();

    // then each share was decided as on its own
    expect(first.map((d) => [d.position, d.outcome, d.admitted, d.used])).toEqual([
      [1, "done", true, "2"],
      [2, "done", null, "3"],
      [3, "done", true, "8"],
      [4, "done", false, "8"],
      [5, "done", true, "1"],
    ]);
    expect(second.map((d) => [d.position, d.outcome, d.admitted, d.used])).toEqual([
      [1, "done", true, "5"],
      [2, "done", null, "6"],
      [3, "done", false, "8"],
      [4, "done", false, "8"],
      [5, "replay", null, null],
    ]);
  });
});

function hold() {
  return { expireTime: new Date(Date.now() + 60_000), createTime: new Date() };
}
