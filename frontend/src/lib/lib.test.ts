import { describe, expect, it } from "vitest";
import { effectivePaths, parseOverrides } from "./data-path-overrides";
import { formatDuration, formatPercent, formatTime, fromDateInput } from "./format";
import { metricValue } from "./metrics";

describe("data path overrides", () => {
  it("keeps only valid choices and lets them win over the server's defaults", () => {
    const overrides = parseOverrides(JSON.stringify({ charts: "direct", runs: "sideways", other: "bff" }));
    expect(overrides).toEqual({ charts: "direct" });
    expect(effectivePaths({ charts: "bff", runs: "bff", playback: "direct" }, overrides))
      .toEqual({ charts: "direct", runs: "bff", playback: "direct" });
    expect(parseOverrides("{not json")).toEqual({});
    expect(parseOverrides(null)).toEqual({});
  });
});

describe("formatting", () => {
  it("formats UTC times, durations, percentages and dates", () => {
    expect(formatTime(1_735_689_600 + 3_660)).toBe("2025-01-01 01:01");
    expect(formatTime(1_735_689_600, true)).toBe("2025-01-01");
    expect(formatDuration(90_061)).toBe("1 d 1 h");
    expect(formatDuration(42)).toBe("42 s");
    expect(formatPercent(0.0523)).toBe("5.23 %");
    expect(formatPercent(null)).toBe("—");
    expect(fromDateInput("2025-01-01")).toBe(1_735_689_600);
    expect(fromDateInput("01/01/2025")).toBeNull();
  });

  it("reads metrics that are numbers, and nothing else", () => {
    expect(metricValue({ a: 1, b: null, c: "x", d: Number.NaN }, "a")).toBe(1);
    expect(["b", "c", "d", "e"].map((k) => metricValue({ a: 1, b: null, c: "x", d: Number.NaN }, k))).toEqual([null, null, null, null]);
  });
});
