import { Decimal } from "decimal.js";
import type { LimitInfo, WireOp } from "../../src/entitlements/admission-wire.js";

/**
 * An admission op in the wire form the store sends: by default an admit of 1 token under a
 * hard limit of 10 on FREE, in December 2026. `limits` adjusts the default limits; `fields`
 * replaces any field (`limits: undefined` for a call that nothing limits).
 */
export function wireOp(
  position: number,
  fields: Partial<WireOp> = {},
  limits: Partial<LimitInfo> = {},
): WireOp {
  return {
    position,
    kind: "admit",
    resourceType: "tokens",
    periodStart: new Date(Date.UTC(2026, 11, 1)),
    quantity: new Decimal(1),
    limits: {
      allowance: new Decimal(10),
      cap: undefined,
      hard: true,
      grants: false,
      allocation: false,
      thresholds: [],
      planId: "free",
      windowMs: undefined,
      ...limits,
    },
    idempotency: undefined,
    answerTemplate: undefined,
    reservationId: undefined,
    hold: undefined,
    budgetMs: undefined,
    aggregation: "sum",
    member: undefined,
    part: 0,
    ...fields,
  };
}
