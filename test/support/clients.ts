import type { DescService } from "@bufbuild/protobuf";
import {
  type Client,
  type Code,
  ConnectError,
  createClient,
  type Transport,
} from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { BillingService } from "../../gen/tollgate/v1/billing_service_pb.js";
import { EntitlementService } from "../../gen/tollgate/v1/entitlement_service_pb.js";
import { EventService } from "../../gen/tollgate/v1/event_service_pb.js";
import { UsageService } from "../../gen/tollgate/v1/usage_service_pb.js";

/*
 * The one place tests make clients: every call goes over real HTTP/2 gRPC to a real server,
 * with an API key when one is given.
 */

/** A gRPC transport to a test server that sends `authorization: Bearer <apiKey>` when given. */
export function grpcTransport(baseUrl: string, apiKey?: string): Transport {
  return createGrpcTransport({
    baseUrl,
    interceptors:
      apiKey === undefined
        ? []
        : [
            (next) => (req) => {
              req.header.set("authorization", `Bearer ${apiKey}`);
              return next(req);
            },
          ],
  });
}

/** A gRPC client of one service of a test server. */
export function grpcClient<S extends DescService>(
  service: S,
  baseUrl: string,
  apiKey?: string,
): Client<S> {
  return createClient(service, grpcTransport(baseUrl, apiKey));
}

/** Clients of every Tollgate service over one transport. */
export function tollgateClients(transport: Transport) {
  return {
    billing: createClient(BillingService, transport),
    entitlements: createClient(EntitlementService, transport),
    usage: createClient(UsageService, transport),
    events: createClient(EventService, transport),
  };
}

/** How a call ended: `ok`, or the Connect code it failed with. */
export function codeOf(call: Promise<unknown>): Promise<Code | "ok"> {
  return call.then(
    () => "ok" as const,
    (error: unknown) => ConnectError.from(error).code,
  );
}

/** The error a call must fail with; a call that succeeds fails the test. */
export function errorOf(call: Promise<unknown>): Promise<ConnectError> {
  return call.then(
    () => {
      throw new Error("expected the call to fail, and it succeeded");
    },
    (error: unknown) => ConnectError.from(error),
  );
}
