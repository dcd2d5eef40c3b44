import { describe, expect, it } from "vitest";
import { drawdownPeriods, longestPeriod, peakTime } from "./drawdown-periods";

describe("drawdown periods", () => {
  const time = [0, 10, 20, 30, 40, 50, 60, 70];
  const equity = [100, 90, 100, 120, 119, 60, 80, 110];

  it("finds each fall from a peak to its recovery (or the end), keeping those deep enough", () => {
    const periods = drawdownPeriods(time, equity, 0.05);
    expect(periods.map(({ start, end, duration }) => [start, end, duration])).toEqual([[0, 20, 20], [30, null, 40]]);
    expect(periods.map((p) => p.depth)).toEqual([expect.closeTo(-0.1), expect.closeTo(-0.5)]);
    expect(drawdownPeriods(time, equity, 0.2)).toHaveLength(1);
  });

  it("names the longest period and the highest point", () => {
    expect(longestPeriod(drawdownPeriods(time, equity, 0))?.start).toBe(30);
    expect(longestPeriod([])).toBeNull();
    expect(peakTime(time, equity)).toBe(30);
    expect(peakTime([], [])).toBeNull();
  });
});
