import type { FieldChecks } from "../platform/validation/field-checks.js";
import { FIELD_RULES } from "../platform/validation/field-rules.js";
import type { Meter } from "./meters.js";

/**
 * Checks a call's or an event's dimension values against its meter, recording every problem
 * under `field`: each key must be a declared dimension or the meter's `unique_key`, each value
 * non-empty text, and a `unique_count` meter needs its `unique_key`. Returns the dimension
 * values (without the member) and the member.
 */
export function checkDimensions(
  checks: FieldChecks,
  meter: Meter,
  values: Readonly<Record<string, string>>,
  field: string,
): { dimensions: Record<string, string>; member: string | undefined } {
  checks.stringMap(field, values, FIELD_RULES.attributes);
  const dimensions: Record<string, string> = {};
  for (const [key, value] of Object.entries(values)) {
    const path = `${field}[${JSON.stringify(key.slice(0, FIELD_RULES.attributes.maxKey))}]`;
    const declared = meter.dimensions.includes(key) || key === meter.uniqueKey;
    checks.check(
      declared,
      path,
      `is not a dimension of the ${meter.resourceType} meter (declared: ${describeKeys(meter)})`,
    );
    checks.check(value !== "", path, "must not be empty");
    if (declared && key !== meter.uniqueKey) dimensions[key] = value;
  }
  const member = meter.uniqueKey === undefined ? undefined : values[meter.uniqueKey];
  if (meter.uniqueKey !== undefined && member === undefined) {
    checks.check(
      false,
      `${field}[${JSON.stringify(meter.uniqueKey)}]`,
      `is required: ${meter.resourceType} counts distinct ${meter.uniqueKey} values`,
    );
  }
  return { dimensions, member };
}

function describeKeys(meter: Meter): string {
  const keys = [...meter.dimensions, ...(meter.uniqueKey ? [meter.uniqueKey] : [])];
  return keys.length === 0 ? "none" : keys.join(", ");
}
