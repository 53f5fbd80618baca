/**
 * The quick reference's "FastAPI Integration" (`Depends(get_entitlement_enforcer)`), twice:
 * a Connect interceptor enforcing an entitlement on chosen RPCs of your own Connect service
 * (grpc.health.v1.Health stands in for yours here), and adapters for `node:http`, Express and
 * Fastify servers. All read the tenant from an `x-tenant-id` header.
 */
import { once } from "node:events";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { createClient } from "@connectrpc/connect";
import { connectNodeAdapter, createConnectTransport } from "@connectrpc/connect-node";
import {
  createEntitlementEnforcer,
  createEntitlementGuard,
  createEntitlementHook,
  createEntitlementInterceptor,
  createEntitlementMiddleware,
  createTollgateClient,
  EntitlementEnforcementError,
  type EntitlementHttpError,
  entitlementErrorBody,
  fromConnectError,
} from "@tollgate/client";
import express from "express";
import Fastify, { type FastifyRequest } from "fastify";
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

  // The same for HTTP servers, each reading the tenant from the header, no casts needed.
  // storage_mb: FREE allows 1,000 MB; each upload below takes 1, and 998 are in use.
  await enforcer.recordUsageOnly(tenantId, "storage_mb", 998);
  const rule = { enforcer, resourceType: "storage_mb", quantity: 1 };

  // node:http — the guard answers refused requests itself (402 and a JSON body).
  const guard = createEntitlementGuard({
    ...rule,
    tenantId: (req: http.IncomingMessage) => String(req.headers["x-tenant-id"]),
  });
  const nodeServer = await listen(
    http.createServer(async (req, res) => {
      if (await guard(req, res)) res.writeHead(200).end("uploaded");
    }),
  );

  // Express 5 — the middleware hands refusals to your error handler with `status` set.
  const app = express();
  app.use(
    createEntitlementMiddleware({
      ...rule,
      tenantId: (req: express.Request) => req.get("x-tenant-id") ?? "",
    }),
  );
  app.post("/", (_req, res) => {
    res.send("uploaded");
  });
  app.use(
    (
      error: EntitlementHttpError,
      _req: express.Request,
      res: express.Response,
      _next: express.NextFunction,
    ) => {
      res.status(error.status).json(entitlementErrorBody(error));
    },
  );
  const expressServer = await listen(http.createServer(app));

  // Fastify 5 — a preHandler hook.
  const fastify = Fastify();
  fastify.addHook(
    "preHandler",
    createEntitlementHook({
      ...rule,
      tenantId: (request: FastifyRequest) => String(request.headers["x-tenant-id"]),
    }),
  );
  fastify.post("/", async () => "uploaded");
  const fastifyUrl = await fastify.listen({ port: 0, host: "127.0.0.1" });

  const upload = async (url: string) => {
    const response = await fetch(url, { method: "POST", headers });
    return { status: response.status, body: await response.text() };
  };
  // Node takes the 999th MB, Express the 1,000th; then Fastify and Node are refused.
  const uploads = [
    await upload(nodeServer.url),
    await upload(expressServer.url),
    await upload(fastifyUrl),
    await upload(nodeServer.url),
  ];
  nodeServer.close();
  expressServer.close();
  await fastify.close();

  return {
    connectAllowed: allowed.status === HealthCheckResponse_ServingStatus.SERVING,
    connectRefused:
      refused instanceof EntitlementEnforcementError ? refused.resourceType : undefined,
    uploads: uploads.map((u) => u.status),
    refusal: JSON.parse(uploads[2]?.body ?? "{}"),
  };
}

async function listen(server: http.Server): Promise<{ url: string; close(): void }> {
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, close: () => server.close() };
}

runIfMain(import.meta.url, main);
