import { type Timestamp, timestampDate } from "@bufbuild/protobuf/wkt";
import { SubscriptionState } from "../../gen/tollgate/v1/billing_service_pb.js";

const DATE_TIME = new Intl.DateTimeFormat("en-GB", {
  dateStyle: "medium",
  timeStyle: "short",
  timeZone: "UTC",
});

/** A timestamp in UTC (periods and buckets are UTC on the server), or a dash when unset. */
export function formatTime(time: Timestamp | undefined): string {
  return time === undefined ? "—" : `${DATE_TIME.format(timestampDate(time))} UTC`;
}

const STATE_NAMES: Record<SubscriptionState, string> = {
  [SubscriptionState.UNSPECIFIED]: "never subscribed",
  [SubscriptionState.TRIALING]: "trialing",
  [SubscriptionState.ACTIVE]: "active",
  [SubscriptionState.PAST_DUE]: "past due",
  [SubscriptionState.CANCELED]: "canceled",
  [SubscriptionState.INCOMPLETE]: "incomplete",
};

/** States in which a subscription's plan applies; in any other the tenant is on FREE. */
const LIVE_STATES = new Set([
  SubscriptionState.TRIALING,
  SubscriptionState.ACTIVE,
  SubscriptionState.PAST_DUE,
]);

/** Whether a subscription in this state is live: its plan applies, and it can be changed. */
export function isLive(state: SubscriptionState): boolean {
  return LIVE_STATES.has(state);
}

/** A subscription state as words. */
export function stateName(state: SubscriptionState): string {
  return STATE_NAMES[state];
}

/**
 * A decimal string for reading: digit groups added, the digits themselves untouched (the
 * server's exact value is never rounded through a float).
 */
export function formatQuantity(value: string): string {
  if (value === "") return "—";
  const [whole = "", fraction] = value.split(".");
  const sign = whole.startsWith("-") ? "-" : "";
  const digits = whole.replace("-", "").replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  return `${sign}${digits}${fraction === undefined ? "" : `.${fraction}`}`;
}

/**
 * Money as "9.00 USD" everywhere: digit groups, at least the currency's minor digits (2 for
 * USD, 0 for JPY), more when the server's exact value has them (a unit price of 0.006), the
 * code after the figure. The digits are the server's; nothing is rounded through a float.
 */
export function formatMoney(amount: string, currency: string): string {
  const code = currency.toUpperCase();
  if (amount === "") return "—";
  const minor = minorDigits(code);
  const [whole = "0", fraction = ""] = amount.split(".");
  const padded = fraction.length >= minor ? fraction : fraction.padEnd(minor, "0");
  const figure = formatQuantity(padded === "" ? whole : `${whole}.${padded}`);
  return code === "" ? figure : `${figure} ${code}`;
}

function minorDigits(code: string): number {
  try {
    return (
      new Intl.NumberFormat("en", { style: "currency", currency: code }).resolvedOptions()
        .minimumFractionDigits ?? 2
    );
  } catch {
    return 2;
  }
}

/** `part / whole` as a fraction from 0 to 1, for drawing only. */
export function share(part: string, whole: string): number {
  const w = Number(whole);
  if (!(w > 0)) return 0;
  return Math.min(1, Math.max(0, Number(part || "0") / w));
}

/** A fresh idempotency key for one intended action. */
export function newRequestId(): string {
  return `console-${crypto.randomUUID()}`;
}
