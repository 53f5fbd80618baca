import { describe, expect, it } from "vitest";
import { ValidationError } from "../errors/domain-error.js";
import { decodePageToken, encodePageToken, fetchPage } from "./page-token.js";

const cursor = { time: new Date("2026-06-01T12:00:00.000Z"), id: "42" };

describe("page tokens", () => {
  it("should decode a token to its cursor for the query it was issued for", () => {
    const token = encodePageToken("events/t1", cursor);
    expect(decodePageToken("events/t1", token, /^[0-9]+$/)).toEqual(cursor);
    expect(decodePageToken("events/t1", "")).toBeUndefined();
  });

  it("should refuse a token of another query, a forged id and garbage as page_token", () => {
    const token = encodePageToken("events/t1", cursor);
    const forged = Buffer.from(
      JSON.stringify({ s: "events/t1", t: cursor.time.toISOString(), i: "1; drop" }),
    ).toString("base64url");
    const yearZero = Buffer.from(
      JSON.stringify({ s: "events/t1", t: "0000-01-01T00:00:00.000Z", i: "1" }),
    ).toString("base64url");
    for (const [scope, bad] of [
      ["events/t2", token],
      ["events/t1", forged],
      ["events/t1", yearZero],
      ["events/t1", "not a token"],
    ] as const) {
      expect(() => decodePageToken(scope, bad, /^[0-9]+$/)).toThrow(ValidationError);
    }
  });

  it("should fetch one row more than the page to know whether another follows", async () => {
    const rows = Array.from({ length: 5 }, (_, i) => ({ id: String(5 - i), time: cursor.time }));
    const asked: number[] = [];
    const page = await fetchPage({
      scope: "s",
      pageSize: 2,
      pageToken: "",
      fetch: async (limit) => {
        asked.push(limit);
        return rows.slice(0, limit);
      },
      cursorOf: (row) => row,
    });
    expect(asked).toEqual([3]);
    expect(page.items.map((r) => r.id)).toEqual(["5", "4"]);
    expect(decodePageToken("s", page.nextPageToken)).toEqual({ time: cursor.time, id: "4" });

    const last = await fetchPage({
      scope: "s",
      pageSize: 0,
      pageToken: "",
      fetch: async () => rows,
      cursorOf: (row) => row,
    });
    expect(last.items).toHaveLength(5);
    expect(last.nextPageToken).toBe("");
  });
});
