import { Decimal } from "decimal.js";
import { z } from "zod";
import { UNSIGNED_DECIMAL_PATTERN } from "../platform/validation/decimal.js";

/** What a feature's value is: on or off, a number (decimal), or one of a list of words. */
export type FeatureType = "boolean" | "number" | "string";

/** The types, in the order the catalog documents them. */
export const FEATURE_TYPES: readonly FeatureType[] = ["boolean", "number", "string"];

/**
 * A feature's value. Numbers are decimals, never floats: a limit such as `retention_days` is
 * compared and shown exactly, and two values are equal only when their decimals are.
 */
export type FeatureValue =
  | { type: "boolean"; value: boolean }
  | { type: "number"; value: Decimal }
  | { type: "string"; value: string };

/** A feature the catalog declares: its type, its value where no plan sets one, its words. */
export interface FeatureDefinition {
  name: string;
  type: FeatureType;
  default: FeatureValue;
  /** The words a string feature may take; empty for the other types. */
  values: readonly string[];
}

/** The shape of a `features` entry; the values are checked against the type by readFeatures. */
export const featureDefinitionSchema = z.strictObject({
  type: z.string(),
  default: z.union([z.boolean(), z.string()]),
  values: z.array(z.string().min(1).max(100)).max(100).optional(),
});

/** A value as a catalog file or a request writes it: a boolean, or a string. */
export type RawFeatureValue = boolean | string;

/**
 * Reads the catalog's `features`: each definition, and every problem at once (an unknown type,
 * a default of the wrong type, words on a type without words).
 */
export function readFeatureDefinitions(
  raw: Record<string, z.infer<typeof featureDefinitionSchema>>,
  label: string,
): { definitions: Map<string, FeatureDefinition>; problems: string[] } {
  const definitions = new Map<string, FeatureDefinition>();
  const problems: string[] = [];
  for (const [name, entry] of Object.entries(raw)) {
    const at = `${label}: features.${name}`;
    if (!(FEATURE_TYPES as readonly string[]).includes(entry.type)) {
      problems.push(`${at}.type: "${entry.type}" is not one of ${FEATURE_TYPES.join(", ")}`);
      continue;
    }
    const type = entry.type as FeatureType;
    const values = entry.values ?? [];
    if (type !== "string" && entry.values !== undefined) {
      problems.push(`${at}.values: only a string feature lists its values`);
    }
    if (new Set(values).size !== values.length) problems.push(`${at}.values: names a value twice`);
    const definition = { name, type, values, default: { type: "boolean", value: false } } as const;
    const read = readFeatureValue(definition, entry.default);
    if (typeof read === "string") problems.push(`${at}.default: ${read}`);
    else definitions.set(name, { ...definition, default: read });
  }
  return { definitions, problems };
}

/**
 * A value for a feature, or why it cannot be one: a boolean feature takes true or false (or
 * `"true"`/`"false"` from a request, where values are strings), a number feature a decimal
 * string, a string feature one of its words (any non-empty text when it lists none).
 */
export function readFeatureValue(
  definition: Pick<FeatureDefinition, "type" | "values">,
  raw: RawFeatureValue,
): FeatureValue | string {
  switch (definition.type) {
    case "boolean":
      if (raw === true || raw === "true") return { type: "boolean", value: true };
      if (raw === false || raw === "false") return { type: "boolean", value: false };
      return "must be true or false for a boolean feature";
    case "number":
      if (typeof raw === "string" && UNSIGNED_DECIMAL_PATTERN.test(raw)) {
        return { type: "number", value: new Decimal(raw) };
      }
      return 'must be a non-negative decimal string such as "90" for a number feature';
    case "string":
      if (typeof raw !== "string" || raw.length === 0 || raw.length > 100) {
        return "must be a non-empty string of at most 100 characters for a string feature";
      }
      if (definition.values.length > 0 && !definition.values.includes(raw)) {
        return `must be one of ${definition.values.join(", ")}`;
      }
      return { type: "string", value: raw };
  }
}

/** A value as events, snapshots and audit rows carry it: decimals as plain strings. */
export function featureValueJson(value: FeatureValue): boolean | string {
  return value.type === "number" ? value.value.toFixed() : value.value;
}

/** Whether two values are the same (decimals compared by value). */
export function sameFeatureValue(a: FeatureValue, b: FeatureValue): boolean {
  if (a.type === "number" && b.type === "number") return a.value.eq(b.value);
  return a.type === b.type && a.value === b.value;
}
