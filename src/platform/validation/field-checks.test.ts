import { create } from "@bufbuild/protobuf";
import { TimestampSchema } from "@bufbuild/protobuf/wkt";
import { describe, expect, it } from "vitest";
import { fromProtoTimestamp } from "../server/timestamp.js";
import { createFieldChecks, isIdentifier, isText } from "./field-checks.js";
import { eventTimeBounds, FIELD_RULES, WIRE_TIME } from "./field-rules.js";

describe(isIdentifier.name, () => {
  it("should accept printable text of any script and refuse what PostgreSQL cannot hold", () => {
    expect(["evt-1", "✓ done", "日本語", "emoji 😀", "a b"].map(isIdentifier)).toEqual([
      true,
      true,
      true,
      true,
      true,
    ]);
    // NUL, other C0 controls, DEL, C1 controls, and lone surrogates of either half
    expect(
      ["a\u0000", "a\u0007", "a\t", "a\u007f", "a\u0085", "\ud800x", "x\udc00"].map(isIdentifier),
    ).toEqual([false, false, false, false, false, false, false]);
  });
});

describe(isText.name, () => {
  it("should let tabs and line breaks through, and nothing else of the controls", () => {
    expect(isText("line one\nline two\r\n\tindented")).toBe(true);
    expect(isText("😀 pairs are fine")).toBe(true);
    expect(["a\u0000", "a\u0001", "a\u001b", "\ud83d"].map(isText)).toEqual([
      false,
      false,
      false,
      false,
    ]);
  });
});

describe(createFieldChecks.name, () => {
  it("should hold customer metadata to what Stripe accepts besides Tollgate's own tenant_id", () => {
    // given metadata at every bound, and metadata just past each one
    const at = Object.fromEntries(
      Array.from({ length: 49 }, (_, i) => [`k${i}`.padEnd(40, "x"), "v".repeat(500)]),
    );
    const past = {
      ...Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`k${i}`, "v"])),
      ["k".repeat(41)]: "v",
      "a[0]": "v",
      tenant_id: "t",
      long: "v".repeat(501),
    };

    // when both are checked
    const ok = createFieldChecks();
    ok.stringMap("metadata", at, FIELD_RULES.metadata);
    const bad = createFieldChecks();
    bad.stringMap("metadata", past, FIELD_RULES.metadata);

    // then the first passes and every problem of the second is reported at once
    expect(ok.violations()).toEqual([]);
    expect(bad.violations().map((v) => v.description)).toEqual([
      "must have at most 49 entries",
      "keys must be 1 to 40 characters",
      "keys must not contain control characters or any of []",
      "is a key the server sets itself",
      "values must be at most 500 characters",
    ]);
  });

  it("should bound event times and refuse malformed wire timestamps", () => {
    // given a server clock and timestamps at and past the bounds
    const now = new Date("2026-06-01T00:00:00Z");
    const checks = createFieldChecks();
    const bounds = eventTimeBounds(now);
    const wire = (seconds: bigint, nanos = 0) =>
      fromProtoTimestamp(create(TimestampSchema, { seconds, nanos })) as Date;

    // when they are checked
    const results = [
      checks.time("a", new Date("2000-01-01T00:00:00Z"), bounds),
      checks.time("b", new Date(now.getTime() + 5 * 60_000), bounds),
      checks.time("c", new Date("1999-12-31T23:59:59.999Z"), bounds),
      checks.time("d", new Date(now.getTime() + 5 * 60_000 + 1), bounds),
      checks.time("e", wire(1_700_000_000n, 999_999_999), WIRE_TIME),
      checks.time("f", wire(1_700_000_000n, 1_000_000_000), WIRE_TIME),
      checks.time("g", wire(1_700_000_000n, -1), WIRE_TIME),
      checks.time("h", wire(-62_135_596_801n), WIRE_TIME),
      checks.time("i", wire(253_402_300_800n), WIRE_TIME),
    ];

    // then exactly the ones inside are accepted
    expect(results).toEqual([true, true, false, false, true, false, false, false, false]);
    expect(fromProtoTimestamp(undefined)).toBeUndefined();
  });
});
