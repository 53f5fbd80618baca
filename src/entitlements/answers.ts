import { Decimal } from "decimal.js";
import type { CheckResult, Entitlement, Reservation, ReserveResult } from "./entitlements.js";

/*
 * The first answer of an idempotency key is stored as JSON (decimals as strings, times as ISO
 * strings) and rebuilt from it on every retry, so a retry gets exactly the first answer.
 */

type Json = Record<string, unknown>;

/** Rebuilds a stored entitlement. */
export function reviveEntitlement(stored: unknown): Entitlement {
  const e = stored as Json;
  return {
    ...(e as unknown as Entitlement),
    limit: e.limit === undefined ? undefined : new Decimal(e.limit as string),
    used: new Decimal(e.used as string),
    reserved: new Decimal(e.reserved as string),
    periodStart: new Date(e.periodStart as string),
    periodEnd: new Date(e.periodEnd as string),
  };
}

/** Rebuilds a stored check result. */
export function reviveCheckResult(stored: unknown): CheckResult {
  const r = stored as Json;
  return { ...(r as unknown as CheckResult), entitlement: reviveEntitlement(r.entitlement) };
}

/** Rebuilds a stored reserve result. */
export function reviveReserveResult(stored: unknown): ReserveResult {
  const r = stored as Json;
  const held = r.reservation as Json | undefined;
  const reservation: Reservation | undefined = held && {
    ...(held as unknown as Reservation),
    quantity: new Decimal(held.quantity as string),
    committedQuantity: undefined,
    expireTime: new Date(held.expireTime as string),
    createTime: new Date(held.createTime as string),
    periodStart: new Date(held.periodStart as string),
  };
  return { ...reviveCheckResult(stored), reservation };
}
