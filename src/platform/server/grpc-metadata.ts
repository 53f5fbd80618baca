import * as grpc from "@grpc/grpc-js";

/**
 * The request metadata of a grpc-js call as the `Headers` Connect's interceptors read. Binary
 * (`-bin`) values become base64 text, as they travel on the wire and as Connect presents them.
 */
export function fromGrpcMetadata(metadata: grpc.Metadata): Headers {
  const headers = new Headers();
  for (const [name, value] of Object.entries(metadata.toHttp2Headers())) {
    for (const one of Array.isArray(value) ? value : [value]) headers.append(name, String(one));
  }
  return headers;
}

/** Appends Connect headers or trailers to grpc-js metadata; `-bin` values are decoded. */
export function toGrpcMetadata(headers: Headers, into = new grpc.Metadata()): grpc.Metadata {
  headers.forEach((value, name) => {
    into.add(name, name.endsWith("-bin") ? Buffer.from(value, "base64") : value);
  });
  return into;
}
