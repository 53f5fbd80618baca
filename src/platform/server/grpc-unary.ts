import type http2 from "node:http2";
import { type DescMessage, fromBinary, type MessageShape, toBinary } from "@bufbuild/protobuf";
import {
  Code,
  ConnectError,
  createHandlerContext,
  type Interceptor,
  type ServiceImplSpec,
} from "@connectrpc/connect";
import { invokeUnaryImplementation } from "@connectrpc/connect/protocol";
import * as grpc from "@grpc/grpc-js";
import { fromGrpcMetadata, toGrpcMetadata } from "./grpc-metadata.js";
import type { Http2StreamRoute } from "./listener.js";
import { countAuthorizationHeaders } from "./request-context.js";

/** Options of {@link createGrpcUnaryServer}. */
export interface GrpcUnaryOptions {
  /** Every service; their unary methods are served here, the rest stays with Connect. */
  services: ServiceImplSpec[];
  /** The same interceptors, in the same order, as the Connect router runs. */
  interceptors: Interceptor[];
  maxMessageBytes: number;
  /** Aborts every running call when the server's grace period is over. */
  shutdownSignal: AbortSignal;
  /** Told about calls refused before any interceptor ran (a message that does not parse). */
  onRefused: (path: string, code: Code) => void;
}

// A request that did not parse travels to the handler as this, so it is answered as Connect
// answers it (Internal, "parse binary: …") and counted as refused before any handler.
class MalformedRequest {
  constructor(readonly error: unknown) {}
}

type UnarySpec = Extract<ServiceImplSpec["methods"][string], { kind: "unary" }>;

// Ends a finished call's context: frees its deadline timer and its link to the shutdown
// signal. One shared reason, because building an abort error per call is measurable.
const CALL_FINISHED = new ConnectError("call finished", Code.Canceled);
const CALL_CANCELLED = new ConnectError("the client cancelled the call", Code.Canceled);

/**
 * Serves the unary methods of the gRPC protocol through `@grpc/grpc-js`, whose HTTP/2 stream
 * handling costs a fraction of Connect's per call, while the same interceptors and service
 * implementations answer: a call behaves identically whichever side serves it. Streaming
 * methods, gRPC+JSON, Connect and gRPC-Web stay with Connect. grpc-js accepts whole
 * connections only, so its HTTP/2 server (created by its public connection injector) is given
 * single streams of the listener's sessions instead; it is looked up once at startup and the
 * server refuses to start if a grpc-js upgrade moved it. The returned route takes gRPC
 * (protobuf) calls of unary methods sent with at most one `authorization` header.
 */
export function createGrpcUnaryServer(options: GrpcUnaryOptions): Http2StreamRoute {
  const server = new grpc.Server({
    "grpc.max_receive_message_length": options.maxMessageBytes,
    "grpc.max_send_message_length": options.maxMessageBytes,
    "grpc.enable_channelz": 0,
    interceptors: [refuseIncompleteRequests],
  });
  const paths = new Set<string>();
  for (const spec of options.services) {
    const definition: Record<string, grpc.MethodDefinition<unknown, unknown>> = {};
    const implementation: grpc.UntypedServiceImplementation = {};
    for (const method of Object.values(spec.methods)) {
      if (method.kind !== "unary") continue; // streaming calls stay with Connect
      const path = `/${spec.service.typeName}/${method.method.name}`;
      paths.add(path);
      definition[method.method.localName] = unaryDefinition(
        path,
        method.method.input,
        method.method.output,
      );
      implementation[method.method.localName] = unaryHandler(options, spec, method, path);
    }
    server.addService(definition, implementation);
  }
  server.createConnectionInjector(grpc.ServerCredentials.createInsecure());
  const streams = injectorServer(server);
  return {
    accepts(headers, rawHeaders) {
      const type = headers["content-type"];
      return (
        (type === "application/grpc" || type === "application/grpc+proto") &&
        headers[":method"] === "POST" &&
        paths.has(headers[":path"] ?? "") &&
        // Node keeps one of several `authorization` headers and grpc-js sees only that one;
        // Connect reads the raw list and refuses such a call, so it gets those.
        countAuthorizationHeaders(rawHeaders) <= 1
      );
    },
    serve(stream, headers, flags, rawHeaders) {
      streams.emit("stream", stream, headers, flags, rawHeaders);
    },
  };
}

/**
 * grpc-js answers a unary call whose body ended without one whole message (a truncated frame
 * header or message, or none at all) `UNIMPLEMENTED`, which tells a client the method does not
 * exist. This answers it `INVALID_ARGUMENT`, as Connect answers an incomplete envelope on the
 * other protocols, so a malformed frame gets one code whichever side serves it.
 */
const refuseIncompleteRequests: grpc.ServerInterceptor = (_method, call) => {
  let received = false;
  return new grpc.ServerInterceptingCall(call, {
    start(next) {
      next({
        onReceiveMessage(message, forward) {
          received = true;
          forward(message);
        },
        onReceiveHalfClose(forward) {
          if (received) return forward();
          call.sendStatus({
            code: grpc.status.INVALID_ARGUMENT,
            details:
              "protocol error: incomplete envelope (the request ended before one whole message)",
          });
        },
      });
    },
  });
};

function unaryDefinition(
  path: string,
  input: DescMessage,
  output: DescMessage,
): grpc.MethodDefinition<unknown, unknown> {
  return {
    path,
    requestStream: false,
    responseStream: false,
    requestSerialize: (message) => asBuffer(toBinary(input, message as MessageShape<DescMessage>)),
    requestDeserialize: (bytes) => {
      try {
        return fromBinary(input, bytes);
      } catch (error) {
        return new MalformedRequest(error);
      }
    },
    responseSerialize: (message) =>
      asBuffer(toBinary(output, message as MessageShape<DescMessage>)),
    responseDeserialize: (bytes) => fromBinary(output, bytes),
  };
}

// A view, not a copy: the bytes were just serialized and nothing else holds them.
function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function unaryHandler(
  options: GrpcUnaryOptions,
  spec: ServiceImplSpec,
  method: UnarySpec,
  path: string,
): grpc.handleUnaryCall<unknown, unknown> {
  return (call, callback) => {
    const request = call.request;
    if (request instanceof MalformedRequest) {
      options.onRefused(path, Code.Internal);
      callback({
        code: grpc.status.INTERNAL,
        details: `parse binary: ${ConnectError.from(request.error).rawMessage}`,
      });
      return;
    }
    const deadline = call.getDeadline();
    const context = createHandlerContext({
      service: spec.service,
      method: method.method,
      protocolName: "grpc",
      requestMethod: "POST",
      url: path,
      timeoutMs: deadline === Number.POSITIVE_INFINITY ? undefined : +deadline - Date.now(),
      shutdownSignal: options.shutdownSignal,
      requestHeader: fromGrpcMetadata(call.metadata),
    });
    const onCancelled = () => context.abort(CALL_CANCELLED);
    call.once("cancelled", onCancelled);
    invokeUnaryImplementation(
      method,
      context,
      request as MessageShape<DescMessage>,
      options.interceptors,
    )
      .then(
        (response) => {
          sendHeader(call, context.responseHeader);
          callback(null, response, toGrpcMetadata(context.responseTrailer));
        },
        (error: unknown) => {
          const connectError = ConnectError.from(error);
          sendHeader(call, context.responseHeader);
          const trailer = toGrpcMetadata(context.responseTrailer);
          toGrpcMetadata(connectError.metadata, trailer);
          callback({
            // Connect's codes are gRPC's status numbers.
            code: connectError.code as number as grpc.status,
            details: connectError.rawMessage,
            metadata: trailer,
          });
        },
      )
      .finally(() => {
        call.off("cancelled", onCancelled);
        context.abort(CALL_FINISHED);
      });
  };
}

function sendHeader(call: grpc.ServerUnaryCall<unknown, unknown>, header: Headers): void {
  let empty = true;
  header.forEach(() => {
    empty = false;
  });
  if (!empty) call.sendMetadata(toGrpcMetadata(header));
}

/**
 * The HTTP/2 server behind grpc-js's connection injector: the one object whose `stream`
 * event runs grpc-js's call handling. grpc-js keeps it in a private map, so this checks the
 * shape and fails at startup, not per call, if a new version changed it.
 */
function injectorServer(server: grpc.Server): http2.Http2Server {
  const servers: unknown = Reflect.get(server, "http2Servers");
  const first = servers instanceof Map ? servers.keys().next().value : undefined;
  if (first === undefined || typeof (first as http2.Http2Server).emit !== "function") {
    throw new Error(
      "@grpc/grpc-js no longer keeps its injector's HTTP/2 server where 1.14 did; pin it to 1.14",
    );
  }
  return first as http2.Http2Server;
}
