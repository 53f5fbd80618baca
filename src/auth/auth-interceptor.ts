import type { Interceptor } from "@connectrpc/connect";
import { UnauthenticatedError } from "../platform/errors/domain-error.js";
import {
  kAuthorizationCount,
  kPrincipal,
  type Principal,
} from "../platform/server/request-context.js";
import { authorizeCall } from "./policy.js";
import type { ApiKeyService } from "./service.js";

const BEARER = /^Bearer[ \t]+(\S+)[ \t]*$/i;

const OPEN: Principal = { role: "open", actor: "open", tenantId: undefined };

/** Options of {@link createAuthInterceptor}. */
export interface AuthInterceptorOptions {
  keys: ApiKeyService;
  /**
   * Development without keys: calls without a key act as admin. A key that is presented is
   * still checked, so clients can be given keys before the server is locked down.
   */
  open: boolean;
}

/**
 * Authenticates every Tollgate RPC from exactly one `authorization: Bearer <key>` header (a
 * request with several is refused, whatever they hold) and authorizes it before the handler
 * runs, so a refused call never touches the database beyond the key
 * lookup. Health and reflection stay open: they reveal nothing tenant-specific and load
 * balancers and `buf curl` need them without credentials.
 */
export function createAuthInterceptor(options: AuthInterceptorOptions): Interceptor {
  return (next) => async (req) => {
    if (!req.service.typeName.startsWith("tollgate.")) return next(req);
    const sent = req.contextValues.get(kAuthorizationCount);
    if (sent !== undefined && sent > 1) {
      throw new UnauthenticatedError(
        `send exactly one authorization header; this request has ${sent}`,
      );
    }
    const principal = await authenticate(options, req.header.get("authorization"));
    authorizeCall(
      principal,
      `${req.service.typeName}/${req.method.name}`,
      req.stream ? undefined : req.message,
    );
    req.contextValues.set(kPrincipal, principal);
    return next(req);
  };
}

/**
 * The principal an `authorization` header names (null: none sent): open mode's admin without
 * a key, else the key's holder; a malformed header or an unknown, revoked key is refused.
 */
export async function authenticate(
  options: AuthInterceptorOptions,
  header: string | null,
): Promise<Principal> {
  if (header === null) {
    if (options.open) return OPEN;
    throw new UnauthenticatedError("an API key is required: send `authorization: Bearer <key>`");
  }
  const key = BEARER.exec(header)?.[1];
  if (key === undefined) {
    throw new UnauthenticatedError("the authorization header must be `Bearer <key>`");
  }
  return options.keys.authenticate(key);
}
