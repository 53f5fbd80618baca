import { createFieldChecks } from "../platform/validation/field-checks.js";
import { FIELD_RULES } from "../platform/validation/field-rules.js";

/** A key to make, as the CLI passes it: a tenant key when `tenantId` is set, else admin. */
export interface RawNewKey {
  tenantId?: string;
  description?: string;
}

/** The tenant (`--tenant`) and the description of a new key, every problem at once. */
export function validateNewKey(input: RawNewKey): void {
  const checks = createFieldChecks();
  if (input.tenantId !== undefined) checks.uuid("tenant", input.tenantId);
  checks.text("description", input.description ?? "", { max: FIELD_RULES.descriptionMax });
  checks.throwIfAny();
}
