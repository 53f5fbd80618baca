import type { Interceptor, StreamRequest, UnaryRequest } from "@connectrpc/connect";
import { checkEntitlementOrRaise, type EntitlementEnforcer } from "./enforcer.js";
import type { Quantity } from "./quantity.js";

/** One enforced resource: what a call consumes. */
export interface EntitlementRule {
  resourceType: string;
  /** 1 by default. */
  quantity?: Quantity;
}

/** Options of {@link createEntitlementInterceptor}. */
export interface EntitlementInterceptorOptions {
  enforcer: EntitlementEnforcer;
  /** The RPCs to enforce, by `package.Service/Method`; other RPCs pass untouched. */
  rules: Record<string, EntitlementRule>;
  /** Picks the tenant from the request (a header, a field of the message, your auth context). */
  tenantId: (req: UnaryRequest | StreamRequest) => string | Promise<string>;
}

/**
 * The seed's FastAPI `Depends(get_entitlement_enforcer)` for your own Connect services: a
 * server interceptor that checks and records an entitlement before the chosen RPCs run. A
 * denied call never reaches your handler; its caller gets `ResourceExhausted`, which
 * `fromConnectError` turns back into `EntitlementEnforcementError`.
 */
export function createEntitlementInterceptor(options: EntitlementInterceptorOptions): Interceptor {
  return (next) => async (req) => {
    const rule = options.rules[`${req.service.typeName}/${req.method.name}`];
    if (rule !== undefined) {
      const tenantId = await options.tenantId(req);
      checkEntitlementOrRaise(
        await options.enforcer.checkAndRecord(tenantId, rule.resourceType, rule.quantity ?? 1),
      );
    }
    return next(req);
  };
}

/** The parts of a Node/Express request the middleware's callers usually read the tenant from. */
export interface MiddlewareRequest {
  headers: Record<string, string | string[] | undefined>;
  [key: string]: unknown;
}

/** Options of {@link createEntitlementMiddleware}. */
export interface EntitlementMiddlewareOptions<Req extends MiddlewareRequest>
  extends EntitlementRule {
  enforcer: EntitlementEnforcer;
  /** Picks the tenant from the request. */
  tenantId: (req: Req) => string | Promise<string>;
}

/**
 * The same for plain Node and Express-style servers, with no Express dependency: a
 * `(req, res, next)` middleware that calls `next()` when allowed and `next(error)` with an
 * `EntitlementEnforcementError` (whose `status` is 402) when not, for your error handler.
 */
export function createEntitlementMiddleware<Req extends MiddlewareRequest>(
  options: EntitlementMiddlewareOptions<Req>,
): (req: Req, res: unknown, next: (error?: unknown) => void) => Promise<void> {
  return async (req, _res, next) => {
    try {
      const tenantId = await options.tenantId(req);
      checkEntitlementOrRaise(
        await options.enforcer.checkAndRecord(
          tenantId,
          options.resourceType,
          options.quantity ?? 1,
        ),
      );
    } catch (error) {
      next(error);
      return;
    }
    next();
  };
}
