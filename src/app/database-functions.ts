import { WIRE_TYPES } from "../entitlements/admission-wire.js";
import type { FunctionSet } from "../platform/db/functions.js";

/**
 * The SQL functions of this release, installed by `migrate` after the tables. Each file lives
 * beside the domain that owns it; the order is the install order, since each file may use
 * what the ones before it define. Raise `version` with every change to a file or a wire type.
 */
export const DATABASE_FUNCTIONS: FunctionSet = {
  version: 6,
  files: [
    new URL("../events/sql/emit.sql", import.meta.url),
    new URL("../credits/sql/grants.sql", import.meta.url),
    new URL("../entitlements/sql/settle.sql", import.meta.url),
    new URL("../entitlements/sql/admit.sql", import.meta.url),
    new URL("../corrections/sql/correct.sql", import.meta.url),
  ],
  types: WIRE_TYPES,
};
