/**
 * The quick reference's "FastAPI Integration" (`Depends(get_entitlement_enforcer)`), twice:
 * a Connect interceptor enforcing an entitlement on chosen RPCs of your own Connect service
 * (grpc.health.v1.Health stands in for yours here), and a `(req, res, next)` middleware for a
 * plain Node or Express server. Both read the tenant from an `x-tenant-id` header.
 */
import { once } from "node:events";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { createClient } from "@connectrpc/connect";
import { connectNodeAdapter, createConnectTransport } from "@connectrpc/connect-node";
import {
  createEntitlementEnforcer,
  createEntitlementInterceptor,
  createEntitlementMiddleware,
  createTollgateClient,
  EntitlementEnforcementError,
  fromConnectError,
  type MiddlewareRequest,
} from "tollgate/client";
import { Health, HealthCheckResponse_ServingStatus } from "../gen/health/v1/health_pb.js";
import { type ExampleContext, runIfMain } from "./context.js";

export async function main({ baseUrl, apiKey, tenantId }: ExampleContext) {
  const enforcer = createEntitlementEnforcer(createTollgateClient({ baseUrl, apiKey }));
  // FREE allows 1,000 API calls a month; use all but one so the second request is refused.
  await enforcer.recordUsageOnly(tenantId, "api_calls", 999);

  // Your Connect service, with every Check costing one API call of the calling tenant.
  const rpc = connectNodeAdapter({
    routes: (router) =>
      router.service(Health, {
        check: () => ({ status: HealthCheckResponse_ServingStatus.SERVING }),
      }),
    interceptors: [
      createEntitlementInterceptor({
        enforcer,
        rules: { "grpc.health.v1.Health/Check": { resourceType: "api_calls" } },
        tenantId: (req) => req.header.get("x-tenant-id") ?? "",
      }),
    ],
  });
  const connectServer = await listen(http.createServer(rpc));
  const yours = createClient(
    Health,
    createConnectTransport({ baseUrl: connectServer.url, httpVersion: "1.1" }),
  );
  const headers = { "x-tenant-id": tenantId };
  const allowed = await yours.check({}, { headers });
  const refused = await yours
    .check({}, { headers })
    .catch((error: unknown) => fromConnectError(error));
  connectServer.close();

  // The same for a plain Node server: next() lets the request through, next(error) refuses it.
  await enforcer.recordUsageOnly(tenantId, "storage_mb", 1000);
  const guard = createEntitlementMiddleware<MiddlewareRequest>({
    enforcer,
    resourceType: "storage_mb",
    quantity: 1,
    tenantId: (req) => String(req.headers["x-tenant-id"]),
  });
  const nodeServer = await listen(
    http.createServer((req, res) => {
      guard(req as unknown as MiddlewareRequest, res, (error) => {
        if (error instanceof EntitlementEnforcementError) {
          res.writeHead(error.status, { "content-type": "application/json" });
          res.end(JSON.stringify({ error: error.reason, resource: error.resourceType }));
        } else if (error) {
          res.writeHead(500).end();
        } else {
          res.writeHead(200).end("uploaded");
        }
      });
    }),
  );
  const upload = await fetch(nodeServer.url, { method: "POST", headers });
  const uploadBody = await upload.json();
  nodeServer.close();

  return {
    connectAllowed: allowed.status === HealthCheckResponse_ServingStatus.SERVING,
    connectRefused:
      refused instanceof EntitlementEnforcementError ? refused.resourceType : undefined,
    middlewareStatus: upload.status,
    middlewareBody: uploadBody,
  };
}

async function listen(server: http.Server): Promise<{ url: string; close(): void }> {
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, close: () => server.close() };
}

runIfMain(import.meta.url, main);
