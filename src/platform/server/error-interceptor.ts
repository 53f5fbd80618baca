import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import { codeToHttpStatus } from "@connectrpc/connect/protocol-connect";
import { isDatabaseUnavailable } from "../db/database.js";
import {
  DomainError,
  type DomainErrorKind,
  ResourceExhaustedError,
} from "../errors/domain-error.js";
import { ERROR_REASON_HEADER } from "../errors/error-reasons.js";
import type { Logger } from "../observability/logger.js";
import type { HttpOutcome } from "./http-handler.js";

const CODE_BY_KIND: Record<DomainErrorKind, Code> = {
  validation: Code.InvalidArgument,
  not_found: Code.NotFound,
  already_exists: Code.AlreadyExists,
  failed_precondition: Code.FailedPrecondition,
  unauthenticated: Code.Unauthenticated,
  permission_denied: Code.PermissionDenied,
  resource_exhausted: Code.ResourceExhausted,
  unavailable: Code.Unavailable,
  deadline_exceeded: Code.DeadlineExceeded,
};

/** What a client sees when the database cannot be reached; retrying later is safe. */
export const DATABASE_UNAVAILABLE_MESSAGE = "the database is unavailable; retry shortly";

/** The only text a client ever sees for a failure we did not anticipate. */
export const INTERNAL_ERROR_MESSAGE = "internal error; the server logged the details";

/**
 * The one place where domain errors become Connect errors. Domain errors keep their message
 * (written for callers); Connect errors raised by the framework pass through; anything else is
 * logged with its stack and reaches the client only as a generic `Internal`.
 */
export function createErrorInterceptor(logger: Logger): Interceptor {
  const toConnect = (error: unknown, procedure: string, signal: AbortSignal): ConnectError => {
    if (error instanceof DomainError) return fromDomainError(error);
    if (error instanceof ConnectError) return error;
    if (signal.aborted || isPrematureClose(error)) {
      // The client cancelled or went away (Ctrl-C on a stream): its request stream ends early
      // and reading it throws. Normal, and nobody is left to answer.
      logger.debug({ err: error, procedure }, "client went away during the call");
      const reason = signal.aborted ? ConnectError.from(signal.reason) : undefined;
      return reason?.code === Code.DeadlineExceeded
        ? reason
        : new ConnectError("the client cancelled the call", Code.Canceled);
    }
    if (isDatabaseUnavailable(error)) {
      logger.warn({ err: error, procedure }, "database unavailable");
      return new ConnectError(
        DATABASE_UNAVAILABLE_MESSAGE,
        Code.Unavailable,
        undefined,
        undefined,
        error,
      );
    }
    logger.error({ err: error, procedure }, "unexpected error in handler");
    return new ConnectError(INTERNAL_ERROR_MESSAGE, Code.Internal, undefined, undefined, error);
  };
  return (next) => async (req) => {
    const procedure = `${req.service.typeName}/${req.method.name}`;
    try {
      const res = await next(req);
      if (!res.stream) return res;
      return {
        ...res,
        message: mapStreamErrors(res.message, (e) => toConnect(e, procedure, req.signal)),
      };
    } catch (error) {
      throw toConnect(error, procedure, req.signal);
    }
  };
}

/** Maps one domain error to its Connect code, keeping retry hints as response metadata. */
export function fromDomainError(error: DomainError): ConnectError {
  const metadata = new Headers();
  if (error.reason !== undefined) metadata.set(ERROR_REASON_HEADER, error.reason);
  if (error instanceof ResourceExhaustedError && error.retryAfterMs !== undefined) {
    metadata.set("retry-after", String(Math.max(1, Math.ceil(error.retryAfterMs / 1000))));
  }
  return new ConnectError(error.message, CODE_BY_KIND[error.kind], metadata, undefined, error);
}

/**
 * What a plain-HTTP endpoint answers for an error: a domain error with the HTTP status of its
 * code (as the Connect protocol maps codes) and its message, an unreachable database 503;
 * undefined for anything else, which the endpoint's caller logs and answers 500.
 */
export function httpOutcomeOf(error: unknown): HttpOutcome | undefined {
  if (error instanceof DomainError) {
    const code = CODE_BY_KIND[error.kind];
    return {
      status: codeToHttpStatus(code),
      body: { error: error.message, code: Code[code], reason: error.reason },
    };
  }
  if (isDatabaseUnavailable(error)) {
    return { status: 503, body: { error: DATABASE_UNAVAILABLE_MESSAGE, code: "Unavailable" } };
  }
  return undefined;
}

function isPrematureClose(error: unknown): boolean {
  return (error as { code?: unknown } | undefined)?.code === "ERR_STREAM_PREMATURE_CLOSE";
}

async function* mapStreamErrors<T>(
  source: AsyncIterable<T>,
  map: (error: unknown) => ConnectError,
): AsyncIterable<T> {
  try {
    yield* source;
  } catch (error) {
    throw map(error);
  }
}
