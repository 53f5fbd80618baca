import { type FieldViolation, ValidationError } from "../errors/domain-error.js";

/** A UUID in any case; stored and compared in canonical lower case. */
export const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Collects every field problem of one request so the caller hears about all of them in a
 * single `InvalidArgument`, instead of fixing one field per round trip.
 */
export interface FieldChecks {
  /** Records a violation when `ok` is false; returns `ok` so checks can be chained. */
  check(ok: boolean, field: string, description: string): boolean;
  /** A required UUID string (any case; compare canonical lower-case values downstream). */
  uuid(field: string, value: string): boolean;
  /** A string of at most `max` characters; `required` also rejects the empty string. */
  text(field: string, value: string, options: { max: number; required?: boolean }): boolean;
  /** A whole number within [min, max]. */
  intRange(field: string, value: number, min: number, max: number): boolean;
  /** A string map with bounded entry count, key length and value length. */
  stringMap(
    field: string,
    value: Record<string, string>,
    bounds: { maxEntries: number; maxKey: number; maxValue: number },
  ): boolean;
  /** Throws a ValidationError carrying every violation recorded so far, if any. */
  throwIfAny(): void;
  violations(): FieldViolation[];
}

/** Starts a fresh collection of field checks for one request. */
export function createFieldChecks(): FieldChecks {
  const found: FieldViolation[] = [];
  const checks: FieldChecks = {
    check(ok, field, description) {
      if (!ok) found.push({ field, description });
      return ok;
    },
    uuid(field, value) {
      if (value === "") return checks.check(false, field, "is required");
      return checks.check(UUID_PATTERN.test(value), field, "must be a UUID such as 3f0c…-…");
    },
    text(field, value, { max, required = false }) {
      if (required && value.trim() === "") return checks.check(false, field, "is required");
      return checks.check(value.length <= max, field, `must be at most ${max} characters`);
    },
    intRange(field, value, min, max) {
      return checks.check(
        Number.isInteger(value) && value >= min && value <= max,
        field,
        `must be a whole number from ${min} to ${max}`,
      );
    },
    stringMap(field, value, { maxEntries, maxKey, maxValue }) {
      const entries = Object.entries(value);
      let ok = checks.check(
        entries.length <= maxEntries,
        field,
        `must have at most ${maxEntries} entries`,
      );
      for (const [key, entry] of entries) {
        ok =
          checks.check(
            key.length > 0 && key.length <= maxKey,
            `${field}[${JSON.stringify(key.slice(0, maxKey))}]`,
            `keys must be 1 to ${maxKey} characters`,
          ) && ok;
        ok =
          checks.check(
            entry.length <= maxValue,
            `${field}[${JSON.stringify(key.slice(0, maxKey))}]`,
            `values must be at most ${maxValue} characters`,
          ) && ok;
      }
      return ok;
    },
    throwIfAny() {
      if (found.length > 0) throw new ValidationError([...found]);
    },
    violations: () => [...found],
  };
  return checks;
}
