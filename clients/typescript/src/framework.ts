import type { IncomingHttpHeaders, ServerResponse } from "node:http";
import {
  Code,
  type ConnectError,
  type Interceptor,
  type StreamRequest,
  type UnaryRequest,
} from "@connectrpc/connect";
import { checkEntitlementOrRaise, type EntitlementEnforcer } from "./enforcer.js";
import { EntitlementEnforcementError, fromConnectError } from "./errors.js";
import type { Quantity } from "./quantity.js";

/** One enforced resource: what a call consumes. */
export interface EntitlementRule {
  resourceType: string;
  /** 1 by default. */
  quantity?: Quantity | undefined;
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
    if (rule !== undefined) await admit(options.enforcer, await options.tenantId(req), rule);
    return next(req);
  };
}

// Checks and records one rule's quantity for the tenant; throws the denial.
async function admit(
  enforcer: EntitlementEnforcer,
  tenantId: string,
  rule: EntitlementRule,
): Promise<void> {
  checkEntitlementOrRaise(
    await enforcer.checkAndRecord(tenantId, rule.resourceType, rule.quantity ?? 1),
  );
}

/**
 * What the HTTP adapters need of a request: its headers. `node:http`'s `IncomingMessage`,
 * Express's `Request` and Fastify's `FastifyRequest` all have them, so each is accepted as it
 * is, without casts.
 */
export interface HeaderCarrier {
  headers: IncomingHttpHeaders;
}

/** Options of the HTTP adapters: the resource a request consumes and whose tenant it is. */
export interface EntitlementHttpOptions<Req extends HeaderCarrier> extends EntitlementRule {
  enforcer: EntitlementEnforcer;
  /** Picks the tenant from the request (a header, your session, a route parameter). */
  tenantId: (req: Req) => string | Promise<string>;
}

/**
 * The HTTP status a web framework should answer a failed check with: 402 for a denial, 400 for
 * a request Tollgate found invalid (a bad tenant id), 401 and 403 for the service's own key,
 * 503 when Tollgate cannot be reached or is busy, 504 past the deadline, 500 otherwise.
 */
export function httpStatusOf(error: unknown): number {
  return statusOfMapped(fromConnectError(error));
}

function statusOfMapped(mapped: ConnectError): number {
  if (mapped instanceof EntitlementEnforcementError) return 402;
  switch (mapped.code) {
    case Code.InvalidArgument:
    case Code.OutOfRange:
      return 400;
    case Code.Unauthenticated:
      return 401;
    case Code.PermissionDenied:
      return 403;
    case Code.NotFound:
      return 404;
    case Code.Unavailable:
    case Code.ResourceExhausted:
      return 503;
    case Code.DeadlineExceeded:
      return 504;
    default:
      return 500;
  }
}

/** A failed check as the HTTP adapters hand it on: the SDK's error, with its HTTP status. */
export type EntitlementHttpError = ConnectError & { status: number; statusCode: number };

/** The SDK's error for `error`, carrying `status` and `statusCode` as Express handlers read. */
export function toEntitlementHttpError(error: unknown): EntitlementHttpError {
  const mapped = fromConnectError(error);
  const status = statusOfMapped(mapped);
  return Object.assign(mapped, { status, statusCode: status });
}

/** The JSON body the adapters answer a failed check with. */
export function entitlementErrorBody(error: EntitlementHttpError): Record<string, unknown> {
  const body: Record<string, unknown> = { error: error.rawMessage, code: Code[error.code] };
  if (error instanceof EntitlementEnforcementError) {
    Object.assign(body, {
      resourceType: error.resourceType,
      limit: error.limit,
      used: error.used,
      denialReason: error.denialReason,
    });
  }
  return body;
}

async function enforce<Req extends HeaderCarrier>(
  options: EntitlementHttpOptions<Req>,
  req: Req,
): Promise<EntitlementHttpError | undefined> {
  try {
    await admit(options.enforcer, await options.tenantId(req), options);
    return undefined;
  } catch (error) {
    return toEntitlementHttpError(error);
  }
}

/**
 * Express (4 and 5) and other `(req, res, next)` servers: calls `next()` when allowed, and
 * `next(error)` otherwise, with `error.status` set (402 for a denial; see
 * {@link httpStatusOf}) for your error handler.
 */
export function createEntitlementMiddleware<Req extends HeaderCarrier>(
  options: EntitlementHttpOptions<Req>,
): (req: Req, res: unknown, next: (error?: unknown) => void) => Promise<void> {
  return async (req, _res, next) => {
    const error = await enforce(options, req);
    if (error === undefined) next();
    else next(error);
  };
}

/**
 * Plain `node:http`: resolves true when the request may go on; otherwise answers it with the
 * status and a JSON body (see {@link entitlementErrorBody}) and resolves false.
 */
export function createEntitlementGuard<Req extends HeaderCarrier>(
  options: EntitlementHttpOptions<Req>,
): (req: Req, res: ServerResponse) => Promise<boolean> {
  return async (req, res) => {
    const error = await enforce(options, req);
    if (error === undefined) return true;
    res.writeHead(error.status, { "content-type": "application/json" });
    res.end(JSON.stringify(entitlementErrorBody(error)));
    return false;
  };
}

/** The part of Fastify's reply the hook uses. */
export interface ReplyLike {
  code(statusCode: number): ReplyLike;
  send(payload?: unknown): unknown;
}

/**
 * Fastify (`app.addHook("preHandler", hook)`, or a route's `preHandler`): lets the request on
 * when allowed, and otherwise answers it with the status and the JSON body, returning the
 * reply as Fastify's async hooks require to stop there.
 */
export function createEntitlementHook<Req extends HeaderCarrier>(
  options: EntitlementHttpOptions<Req>,
): (request: Req, reply: ReplyLike) => Promise<ReplyLike | undefined> {
  return async (request, reply) => {
    const error = await enforce(options, request);
    if (error === undefined) return undefined;
    reply.code(error.status).send(entitlementErrorBody(error));
    return reply;
  };
}
