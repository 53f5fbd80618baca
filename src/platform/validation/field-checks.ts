import { type FieldViolation, ValidationError } from "../errors/domain-error.js";

/** A UUID in any case; stored and compared in canonical lower case. */
export const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Characters no identifier may hold: every control character (C0, DEL, C1) and any surrogate.
 * Well-formed surrogate pairs match too, so this is a fast pre-test; {@link isIdentifier} is
 * exact.
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point.
export const NOT_IDENTIFIER_FAST = /[\u0000-\u001f\u007f-\u009f\ud800-\udfff]/;
/** Characters free text may not hold: C0 controls other than tab and line breaks, surrogates. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point.
export const NOT_TEXT_FAST = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ud800-\udfff]/;

const CONTROL = /\p{Cc}/u;
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point.
const TEXT_CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f]/;

/**
 * Whether a string can be an identifier: well-formed Unicode (PostgreSQL's UTF-8 cannot hold a
 * lone surrogate; node-postgres would silently replace it) without control characters (NUL
 * cannot be stored in `text` or `jsonb` at all, and the others are never intended in a key).
 */
export function isIdentifier(value: string): boolean {
  return !NOT_IDENTIFIER_FAST.test(value) || (value.isWellFormed() && !CONTROL.test(value));
}

/** Whether a string can be stored as free text: like an identifier, but tabs and line breaks pass. */
export function isText(value: string): boolean {
  return !NOT_TEXT_FAST.test(value) || (value.isWellFormed() && !TEXT_CONTROL.test(value));
}

/** Whether a time is valid (not `Invalid Date`) and within the bounds. */
export function isWithin(value: Date, { min, max }: Pick<TimeBounds, "min" | "max">): boolean {
  const ms = value.getTime();
  return ms >= min.getTime() && ms <= max.getTime();
}

/** Bounds of a string map such as usage attributes or customer metadata. */
export interface StringMapBounds {
  maxEntries: number;
  maxKey: number;
  maxValue: number;
  /** Characters a key may not contain, such as Stripe's `[` and `]`. */
  forbiddenKeyCharacters?: string;
  /** Keys the server sets itself, which callers may not use. */
  reservedKeys?: readonly string[];
}

/** Bounds of a timestamp; both ends inclusive. */
export interface TimeBounds {
  min: Date;
  max: Date;
  /** Says what the bounds are when the value is outside them. */
  describe: string;
}

/**
 * Collects every field problem of one request so the caller hears about all of them in a
 * single `InvalidArgument`, instead of fixing one field per round trip.
 */
export interface FieldChecks {
  /** Records a violation when `ok` is false; returns `ok` so checks can be chained. */
  check(ok: boolean, field: string, description: string): boolean;
  /** A required UUID string (any case; compare canonical lower-case values downstream). */
  uuid(field: string, value: string): boolean;
  /**
   * Free text (names, emails, descriptions) of at most `max` characters that PostgreSQL can
   * store as it is; `required` also rejects the empty or blank string.
   */
  text(field: string, value: string, options: { max: number; required?: boolean }): boolean;
  /** An identifier (ids, keys) of at most `max` characters without control characters. */
  identifier(field: string, value: string, options: { max: number; required?: boolean }): boolean;
  /** A whole number within [min, max]. */
  intRange(field: string, value: number, min: number, max: number): boolean;
  /** A string map: identifier keys and text values within the bounds. */
  stringMap(field: string, value: Record<string, string>, bounds: StringMapBounds): boolean;
  /** A valid time (not `Invalid Date`, which stands for a malformed wire timestamp) in bounds. */
  time(field: string, value: Date, bounds: TimeBounds): boolean;
  /** Throws a ValidationError carrying every violation recorded so far, if any. */
  throwIfAny(): void;
  violations(): FieldViolation[];
}

/** Starts a fresh collection of field checks for one request. */
export function createFieldChecks(): FieldChecks {
  const found: FieldViolation[] = [];
  const string = (
    field: string,
    value: string,
    { max, required = false }: { max: number; required?: boolean },
    valid: (value: string) => boolean,
    characters: string,
  ) => {
    if (required && value.trim() === "") return checks.check(false, field, "is required");
    return (
      checks.check(valid(value), field, characters) &&
      checks.check(value.length <= max, field, `must be at most ${max} characters`)
    );
  };
  const checks: FieldChecks = {
    check(ok, field, description) {
      if (!ok) found.push({ field, description });
      return ok;
    },
    uuid(field, value) {
      if (value === "") return checks.check(false, field, "is required");
      return checks.check(UUID_PATTERN.test(value), field, "must be a UUID such as 3f0c…-…");
    },
    text: (field, value, options) =>
      string(
        field,
        value,
        options,
        isText,
        "must be well-formed Unicode without NUL or control characters other than tab and line breaks",
      ),
    identifier: (field, value, options) =>
      string(
        field,
        value,
        options,
        isIdentifier,
        "must be well-formed Unicode without NUL or other control characters",
      ),
    intRange(field, value, min, max) {
      return checks.check(
        Number.isInteger(value) && value >= min && value <= max,
        field,
        `must be a whole number from ${min} to ${max}`,
      );
    },
    stringMap(field, value, bounds) {
      const entries = Object.entries(value);
      let ok = checks.check(
        entries.length <= bounds.maxEntries,
        field,
        `must have at most ${bounds.maxEntries} entries`,
      );
      for (const [key, entry] of entries) {
        // The key is shown shortened and JSON-escaped, so a hostile key cannot garble the message.
        const path = `${field}[${JSON.stringify(key.slice(0, bounds.maxKey))}]`;
        const forbidden = bounds.forbiddenKeyCharacters ?? "";
        const keyOk =
          checks.check(
            key.length > 0 && key.length <= bounds.maxKey,
            path,
            `keys must be 1 to ${bounds.maxKey} characters`,
          ) &&
          checks.check(
            isIdentifier(key) && ![...forbidden].some((c) => key.includes(c)),
            path,
            `keys must not contain control characters${forbidden ? ` or any of ${forbidden}` : ""}`,
          ) &&
          checks.check(
            !bounds.reservedKeys?.includes(key),
            path,
            "is a key the server sets itself",
          );
        const valueOk =
          checks.check(
            entry.length <= bounds.maxValue,
            path,
            `values must be at most ${bounds.maxValue} characters`,
          ) &&
          checks.check(
            isText(entry),
            path,
            "values must be well-formed Unicode without NUL or control characters other than tab and line breaks",
          );
        ok = keyOk && valueOk && ok;
      }
      return ok;
    },
    time(field, value, bounds) {
      if (Number.isNaN(value.getTime())) {
        return checks.check(
          false,
          field,
          "must be a valid timestamp (seconds within years 1 to 9999, nanos from 0 to 999,999,999)",
        );
      }
      return checks.check(isWithin(value, bounds), field, bounds.describe);
    },
    throwIfAny() {
      if (found.length > 0) throw new ValidationError([...found]);
    },
    violations: () => [...found],
  };
  return checks;
}
