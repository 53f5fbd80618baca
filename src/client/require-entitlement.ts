import { checkEntitlementOrRaise, type EntitlementEnforcer } from "./enforcer.js";
import type { Quantity } from "./quantity.js";

/** Options of {@link requireEntitlement}. */
export interface RequireEntitlementOptions {
  /** How much one call consumes; 1 by default. */
  quantity?: Quantity;
  /**
   * The enforcer to use. When omitted, a decorated method uses `this.enforcer`, as the seed's
   * `enforcer=None` parameter did.
   */
  enforcer?: EntitlementEnforcer;
  /** Picks the tenant from the call's arguments; the first argument by default. */
  tenantId?(...args: unknown[]): string;
}

type AsyncFunction<This, Args extends unknown[], R> = (this: This, ...args: Args) => Promise<R>;

/**
 * The seed's `@require_entitlement(resource, quantity=…)`: before each call, checks and records
 * the entitlement, and throws `EntitlementEnforcementError` instead of calling when it is not
 * allowed. Works both as a wrapper — `requireEntitlement("executions")(executeWorkflow)` — and
 * as a standard (TC39) method decorator — `@requireEntitlement("executions")`.
 */
export function requireEntitlement(resourceType: string, options: RequireEntitlementOptions = {}) {
  return <This, Args extends unknown[], R>(
    fn: AsyncFunction<This, Args, R>,
    _context?: ClassMethodDecoratorContext<This, AsyncFunction<This, Args, R>>,
  ): AsyncFunction<This, Args, R> =>
    async function (this: This, ...args: Args): Promise<R> {
      const enforcer =
        options.enforcer ?? (this as { enforcer?: EntitlementEnforcer } | undefined)?.enforcer;
      if (enforcer === undefined) {
        throw new TypeError(
          `requireEntitlement("${resourceType}") needs an enforcer: pass one in its options or set this.enforcer`,
        );
      }
      const tenantId = options.tenantId ? options.tenantId(...args) : String(args[0]);
      checkEntitlementOrRaise(
        await enforcer.checkAndRecord(tenantId, resourceType, options.quantity ?? 1),
      );
      return fn.apply(this, args);
    };
}
