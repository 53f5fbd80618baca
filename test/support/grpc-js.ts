import { fileURLToPath } from "node:url";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";

const PROTO_ROOT = fileURLToPath(new URL("../../proto", import.meta.url));
const HEALTH_ROOT = fileURLToPath(
  new URL("../../node_modules/grpc-health-check/proto", import.meta.url),
);

/**
 * Loads the `.proto` files with @grpc/proto-loader and builds a @grpc/grpc-js client: a client
 * that knows nothing of our generated code, as a Go or Python caller would.
 */
export function createGrpcJsClient(
  address: string,
  fullServiceName: string,
): grpc.Client & Record<string, grpc.MethodDefinition<unknown, unknown>> {
  const definition = protoLoader.loadSync(
    [
      "tollgate/v1/billing_service.proto",
      "tollgate/v1/entitlement_service.proto",
      "tollgate/v1/usage_service.proto",
      "health/v1/health.proto",
    ],
    {
      includeDirs: [PROTO_ROOT, HEALTH_ROOT],
      keepCase: false,
      longs: String,
      enums: String,
      defaults: true,
    },
  );
  const loaded = grpc.loadPackageDefinition(definition);
  const ctor = fullServiceName
    .split(".")
    .reduce<unknown>((node, part) => (node as Record<string, unknown>)[part], loaded);
  const Client = ctor as grpc.ServiceClientConstructor;
  return new Client(address, grpc.credentials.createInsecure()) as never;
}

/** Calls a unary method of a grpc-js client and resolves with the response or the error. */
export function callUnary<T>(
  client: grpc.Client,
  method: string,
  request: object,
  metadata = new grpc.Metadata(),
): Promise<{ response?: T; error?: grpc.ServiceError }> {
  return new Promise((resolve) => {
    type Callback = (error: grpc.ServiceError | null, response: T) => void;
    type UnaryFn = (request: object, metadata: grpc.Metadata, callback: Callback) => void;
    const fn = (client as unknown as Record<string, UnaryFn | undefined>)[method];
    if (!fn) throw new Error(`no method ${method}`);
    fn.call(client, request, metadata, (error, response) =>
      resolve(error ? { error } : { response }),
    );
  });
}
