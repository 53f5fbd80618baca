import { checkEntitlementOrRaise, type EntitlementEnforcer } from "./enforcer.js";
import type { Quantity } from "./quantity.js";

/** Options of {@link requireEntitlement}. Every option may be left out or `undefined`. */
export interface RequireEntitlementOptions {
  /** How much one call consumes; 1 by default. */
  quantity?: Quantity | undefined;
  /**
   * The enforcer to use. When omitted, a decorated method uses `this.enforcer`, as the seed's
   * `enforcer=None` parameter did.
   */
  enforcer?: EntitlementEnforcer | undefined;
  /** Picks the tenant from the call's arguments; the first argument by default. */
  tenantId?: ((...args: unknown[]) => string) | undefined;
}

type AsyncFunction<This, Args extends unknown[], R> = (this: This, ...args: Args) => Promise<R>;

/**
 * What {@link requireEntitlement} returns: a wrapper of async functions that is also a method
 * decorator in both dialects, so it type-checks and runs whether a project uses standard
 * (TC39) decorators or `experimentalDecorators` (NestJS, older Angular).
 */
export interface EntitlementDecorator {
  /** A wrapper (`requireEntitlement(…)(fn)`), or a standard decorator with its context. */
  <This, Args extends unknown[], R>(
    fn: AsyncFunction<This, Args, R>,
    context?: ClassMethodDecoratorContext<This, AsyncFunction<This, Args, R>>,
  ): AsyncFunction<This, Args, R>;
  /** A legacy (`experimentalDecorators`) method decorator. */
  <T>(
    target: object,
    propertyKey: string | symbol,
    descriptor: TypedPropertyDescriptor<T>,
  ): TypedPropertyDescriptor<T>;
}

/**
 * The seed's `@require_entitlement(resource, quantity=…)`: before each call, checks and records
 * the entitlement, and throws `EntitlementEnforcementError` instead of calling when it is not
 * allowed. Works as a wrapper — `requireEntitlement("executions")(executeWorkflow)` — and as a
 * method decorator, standard or legacy — `@requireEntitlement("executions")`.
 */
export function requireEntitlement(
  resourceType: string,
  options: RequireEntitlementOptions = {},
): EntitlementDecorator {
  const wrap = <This, Args extends unknown[], R>(
    fn: AsyncFunction<This, Args, R>,
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
  function decorate(
    fnOrTarget: unknown,
    _contextOrKey?: unknown,
    descriptor?: TypedPropertyDescriptor<unknown>,
  ): unknown {
    // Legacy decorators get (prototype, name, descriptor) and return the descriptor.
    if (descriptor !== undefined && typeof descriptor.value === "function") {
      descriptor.value = wrap(descriptor.value as AsyncFunction<unknown, unknown[], unknown>);
      return descriptor;
    }
    if (typeof fnOrTarget !== "function") {
      throw new TypeError(`requireEntitlement("${resourceType}") applies to async functions`);
    }
    return wrap(fnOrTarget as AsyncFunction<unknown, unknown[], unknown>);
  }
  return decorate as EntitlementDecorator;
}
