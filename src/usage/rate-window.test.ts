import { describe, expect, it } from "vitest";
import { createRateWindow } from "./rate-window.js";

describe(createRateWindow.name, () => {
  it("should average over the time since start until the window is full", () => {
    let now = 1_000_000;
    const window = createRateWindow(60, () => now);
    // given 50 events in the first 10 seconds
    window.add(20);
    now += 10_000;
    window.add(30);
    // then the rate is over those 10 seconds, not over a minute
    expect(window.perSecond()).toBe(5);
  });

  it("should forget seconds that slid out of the window", () => {
    let now = 5_000_000;
    const window = createRateWindow(60, () => now);
    // given 600 events two minutes ago and 60 in the last second
    window.add(600);
    now += 120_000;
    window.add(60);
    // then only the recent 60 count, over the full minute
    expect(window.perSecond()).toBe(1);
    // and a minute of silence brings it to zero
    now += 61_000;
    expect(window.perSecond()).toBe(0);
  });
});
