import { Writable } from "node:stream";
import { Code, ConnectError, createClient, createRouterTransport } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { Health } from "../../../gen/health/v1/health_pb.js";
import {
  AlreadyExistsError,
  FailedPreconditionError,
  NotFoundError,
  PermissionDeniedError,
  ResourceExhaustedError,
  UnauthenticatedError,
  UnavailableError,
  ValidationError,
} from "../errors/domain-error.js";
import { createLogger } from "../observability/logger.js";
import { createErrorInterceptor, INTERNAL_ERROR_MESSAGE } from "./error-interceptor.js";

/** Calls a Health.Check whose handler throws `error`, through the error interceptor. */
async function callThrowing(error: unknown): Promise<{ error: ConnectError; logs: string }> {
  let logs = "";
  const sink = new Writable({
    write(chunk, _encoding, done) {
      logs += String(chunk);
      done();
    },
  });
  const logger = createLogger({ level: "info", destination: sink });
  const transport = createRouterTransport(
    (router) =>
      router.service(Health, {
        check() {
          throw error;
        },
      }),
    { router: { interceptors: [createErrorInterceptor(logger)] } },
  );
  const caught = await createClient(Health, transport)
    .check({})
    .catch((e: unknown) => ConnectError.from(e));
  return { error: caught as ConnectError, logs };
}

describe(createErrorInterceptor.name, () => {
  it.each([
    [
      new ValidationError([
        { field: "tenant_id", description: "must be a UUID" },
        { field: "quantity", description: "must be a decimal" },
      ]),
      Code.InvalidArgument,
      "tenant_id: must be a UUID; quantity: must be a decimal",
    ],
    [new NotFoundError("customer not found"), Code.NotFound, "customer not found"],
    [new AlreadyExistsError("customer exists"), Code.AlreadyExists, "customer exists"],
    [new FailedPreconditionError("already canceled"), Code.FailedPrecondition, "already canceled"],
    [new UnauthenticatedError("missing key"), Code.Unauthenticated, "missing key"],
    [new PermissionDeniedError("other tenant"), Code.PermissionDenied, "other tenant"],
    [new ResourceExhaustedError("slow down"), Code.ResourceExhausted, "slow down"],
    [new UnavailableError("database down"), Code.Unavailable, "database down"],
  ])("should map %s to its code with its message", async (domainError, code, message) => {
    const { error } = await callThrowing(domainError);
    expect(error.code).toBe(code);
    expect(error.rawMessage).toBe(message);
  });

  it("should send a retry-after hint with resource exhaustion", async () => {
    const { error } = await callThrowing(new ResourceExhaustedError("rate limited", 2_500));
    expect(error.metadata.get("retry-after")).toBe("3");
  });

  it("should hide unexpected errors behind a generic internal error and log the detail", async () => {
    const { error, logs } = await callThrowing(
      new Error("relation users does not exist at 10.0.0.5"),
    );
    expect(error.code).toBe(Code.Internal);
    expect(error.rawMessage).toBe(INTERNAL_ERROR_MESSAGE);
    expect(error.message).not.toContain("10.0.0.5");
    expect(logs).toContain("relation users does not exist at 10.0.0.5");
    expect(logs).toContain("grpc.health.v1.Health/Check");
  });

  it("should let Connect errors raised by handlers through unchanged", async () => {
    const { error } = await callThrowing(new ConnectError("deadline", Code.DeadlineExceeded));
    expect(error.code).toBe(Code.DeadlineExceeded);
    expect(error.rawMessage).toBe("deadline");
  });
});
