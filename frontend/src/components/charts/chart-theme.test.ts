import { describe, expect, it } from "vitest";
import type { BarPrice } from "lightweight-charts";
import { chartOptions, MONEY_FORMAT } from "./chart-theme";

describe("chart options", () => {
  it("merges a group of overrides into the app's own instead of replacing it", () => {
    const options = chartOptions({ timeScale: { enableConflation: true } });
    expect(options.timeScale).toMatchObject({ enableConflation: true, minBarSpacing: 0.05, timeVisible: true });
    expect(options.autoSize).toBe(true);
  });
});

describe("money on the axes", () => {
  it("reads with thousands separators and cents, never -0.00", () => {
    expect(MONEY_FORMAT.formatter(80000 as BarPrice)).toBe("80,000.00");
    expect(MONEY_FORMAT.formatter(-0.001 as BarPrice)).toBe("0.00");
  });
});
