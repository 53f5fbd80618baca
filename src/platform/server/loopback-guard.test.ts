import { describe, expect, it } from "vitest";
import { refuseNonLoopback } from "./loopback-guard.js";

describe(refuseNonLoopback.name, () => {
  it.each([
    "localhost",
    "localhost:8080",
    "app.localhost:8080",
    "127.0.0.1:8080",
    "127.9.8.7",
    "[::1]:8080",
    "[::1]",
  ])("should serve Host %s", (host) => {
    expect(refuseNonLoopback({ host })).toBeUndefined();
    expect(refuseNonLoopback({ ":authority": host } as never)).toBeUndefined();
  });

  it.each([
    "evil.example:8080",
    "localhost.evil.example",
    "127.0.0.1.nip.io",
    "10.0.0.1:8080",
    "[::2]:8080",
    "",
  ])("should refuse Host %s", (host) => {
    expect(refuseNonLoopback({ host })).toMatch(/loopback/);
  });

  it("should refuse a request without any host", () => {
    expect(refuseNonLoopback({})).toMatch(/loopback/);
  });

  it("should serve same-machine pages and refuse cross-site origins", () => {
    expect(refuseNonLoopback({ host: "localhost:8080", origin: "http://localhost:8080" })).toBe(
      undefined,
    );
    expect(refuseNonLoopback({ host: "localhost:8080", origin: "http://127.0.0.1:5173" })).toBe(
      undefined,
    );
    expect(refuseNonLoopback({ host: "localhost:8080", origin: "https://evil.example" })).toMatch(
      /other sites/,
    );
    expect(refuseNonLoopback({ host: "localhost:8080", origin: "null" })).toMatch(/other sites/);
  });
});
