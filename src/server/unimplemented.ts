import type { DescService } from "@bufbuild/protobuf";
import type { ServiceImpl } from "@connectrpc/connect";
import { UnimplementedError } from "../errors/domain-error.js";

/**
 * An implementation of a contract service whose every RPC answers `Unimplemented` with a
 * message naming the RPC, so clients can tell "not built yet" from "no such route".
 */
export function createUnimplementedService<S extends DescService>(service: S): ServiceImpl<S> {
  const impl: Record<string, () => never> = {};
  for (const method of service.methods) {
    impl[method.localName] = () => {
      throw new UnimplementedError(`${service.typeName}.${method.name} is not implemented yet`);
    };
  }
  return impl as unknown as ServiceImpl<S>;
}
