import type { HandlerContext } from "@connectrpc/connect";
import type { CallBudget } from "../calls/budget.js";

/** The budget of a Connect call: its signal, and its deadline from the protocol's timeout. */
export function budgetOf(ctx: HandlerContext): CallBudget {
  const left = ctx.timeoutMs();
  return { signal: ctx.signal, deadline: left === undefined ? undefined : Date.now() + left };
}
