/**
 * The longest deadline a call may ask for: Node's timers hold at most 2³¹−1 ms (a longer one
 * fires at once, killing the call) and the admission batch carries budgets as PostgreSQL
 * `int`. About 24.8 days, far beyond any real call.
 */
const MAX_CALL_TIMEOUT_MS = 2_147_483_000;

const GRPC_UNIT_MS: Record<string, number> = {
  H: 3_600_000,
  M: 60_000,
  S: 1_000,
  m: 1,
  u: 0.001,
  n: 0.000_001,
};

/**
 * Rewrites a `grpc-timeout` or `connect-timeout-ms` header that asks for more than
 * {@link MAX_CALL_TIMEOUT_MS} to exactly that, in place, before either protocol stack reads
 * it. Malformed values are left for the protocol to refuse as it does.
 */
export function capCallTimeout(headers: Record<string, string | string[] | undefined>): void {
  const grpc = headers["grpc-timeout"];
  if (typeof grpc === "string") {
    const match = /^(\d{1,8})([HMSmun])$/.exec(grpc);
    if (match && Number(match[1]) * (GRPC_UNIT_MS[match[2] ?? ""] ?? 0) > MAX_CALL_TIMEOUT_MS) {
      headers["grpc-timeout"] = `${MAX_CALL_TIMEOUT_MS / 1000}S`;
    }
  }
  const connect = headers["connect-timeout-ms"];
  if (typeof connect === "string" && /^\d{1,10}$/.test(connect)) {
    if (Number(connect) > MAX_CALL_TIMEOUT_MS) {
      headers["connect-timeout-ms"] = String(MAX_CALL_TIMEOUT_MS);
    }
  }
}
