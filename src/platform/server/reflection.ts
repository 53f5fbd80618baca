import {
  create,
  createRegistry,
  type DescFile,
  type DescService,
  type MessageInitShape,
  type Registry,
  toBinary,
} from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { Code, type ConnectRouter } from "@connectrpc/connect";
import {
  ServerReflection,
  type ServerReflectionRequest,
  type ServerReflectionResponse,
  ServerReflectionResponseSchema,
} from "../../../gen/grpc/reflection/v1/reflection_pb.js";

/**
 * Registers `grpc.reflection.v1.ServerReflection` for the given services, so `buf curl`,
 * grpcurl and Postman can call Tollgate without a copy of its schema. No npm package adds
 * reflection to Connect, hence this implementation over protobuf-es descriptors.
 */
export function registerReflection(router: ConnectRouter, services: DescService[]): void {
  const served = [...services, ServerReflection];
  const files = collectFiles(served.map((s) => s.file));
  const catalog: Catalog = { files, registry: createRegistry(...files.values()) };
  const serviceNames = served.map((s) => s.typeName);
  router.service(ServerReflection, {
    async *serverReflectionInfo(requests) {
      // Files already sent on this stream are not sent again, as the protocol allows.
      const sent = new Set<string>();
      for await (const request of requests) {
        yield answer(request, catalog, serviceNames, sent);
      }
    },
  });
}

/** Every file reachable from the served services, by name and by the symbols they declare. */
interface Catalog {
  files: Map<string, DescFile>;
  registry: Registry;
}

function answer(
  request: ServerReflectionRequest,
  { files: fileMap, registry }: Catalog,
  serviceNames: string[],
  sent: Set<string>,
): ServerReflectionResponse {
  const reply = (
    messageResponse: MessageInitShape<typeof ServerReflectionResponseSchema>["messageResponse"],
  ) =>
    create(ServerReflectionResponseSchema, {
      validHost: request.host,
      originalRequest: request,
      messageResponse,
    });
  const notFound = (what: string) =>
    reply({
      case: "errorResponse",
      value: { errorCode: Code.NotFound, errorMessage: `${what} not found` },
    });
  const files = (file: DescFile | undefined, what: string) =>
    file === undefined
      ? notFound(what)
      : reply({
          case: "fileDescriptorResponse",
          value: { fileDescriptorProto: withDependencies(file, sent) },
        });

  const { case: kind, value } = request.messageRequest;
  switch (kind) {
    case "listServices":
      return reply({
        case: "listServicesResponse",
        value: { service: serviceNames.map((name) => ({ name })) },
      });
    case "fileByFilename":
      return files(fileMap.get(value), `file ${value}`);
    case "fileContainingSymbol":
      return files(fileOfSymbol(registry, value), `symbol ${value}`);
    case "fileContainingExtension":
      return notFound(`extension ${value.extensionNumber} of ${value.containingType}`);
    case "allExtensionNumbersOfType":
      return registry.getMessage(value) === undefined
        ? notFound(`type ${value}`)
        : reply({
            case: "allExtensionNumbersResponse",
            value: { baseTypeName: value, extensionNumber: [] },
          });
    default:
      return reply({
        case: "errorResponse",
        value: { errorCode: Code.InvalidArgument, errorMessage: "empty reflection request" },
      });
  }
}

/** Finds the file declaring a message, enum, service, method or field by its full name. */
function fileOfSymbol(registry: Registry, symbol: string): DescFile | undefined {
  const desc = registry.get(symbol);
  if (desc !== undefined) return desc.file;
  const dot = symbol.lastIndexOf(".");
  const owner = dot > 0 ? registry.get(symbol.slice(0, dot)) : undefined;
  const member = symbol.slice(dot + 1);
  const declares =
    (owner?.kind === "service" && owner.methods.some((m) => m.name === member)) ||
    (owner?.kind === "message" && owner.fields.some((f) => f.name === member));
  return declares ? owner.file : undefined;
}

/** Serializes a file and its transitive imports that this stream has not sent yet. */
function withDependencies(file: DescFile, sent: Set<string>): Uint8Array[] {
  const out: Uint8Array[] = [];
  const visit = (f: DescFile, requested: boolean) => {
    if (!requested && sent.has(f.name)) return;
    sent.add(f.name);
    out.push(toBinary(FileDescriptorProtoSchema, f.proto));
    for (const dep of f.dependencies) visit(dep, false);
  };
  visit(file, true);
  return out;
}

function collectFiles(roots: DescFile[]): Map<string, DescFile> {
  const seen = new Map<string, DescFile>();
  const visit = (f: DescFile) => {
    if (seen.has(f.name)) return;
    seen.set(f.name, f);
    f.dependencies.forEach(visit);
  };
  roots.forEach(visit);
  return seen;
}
