import { describe, expect, it } from "vitest";
import type { EquityCurve } from "@/api/types";
import { detailSpan, withDetail } from "./equity-detail";

const HOUR = 3_600;
const run = { from: 0, to: 1_000 * HOUR };

function curve(time: number[], start = 100): EquityCurve {
  return { run_id: "r", count: time.length, source_points: 1_000, time, equity: time.map((_, i) => start + i),
    drawdown: time.map(() => 0) };
}

describe("equity detail for the visible stretch", () => {
  it("asks for nothing while (almost) the whole run is on screen", () => {
    expect(detailSpan(run, null)).toBeNull();
    expect(detailSpan(run, { from: 0, to: 900 * HOUR })).toBeNull();
  });

  it("asks for a zoomed view widened by half its width either side, in whole hours, inside the run", () => {
    expect(detailSpan(run, { from: 100 * HOUR + 5, to: 200 * HOUR - 5 })).toEqual({ from: 50 * HOUR, to: 250 * HOUR });
    expect(detailSpan(run, { from: 10 * HOUR, to: 110 * HOUR })).toEqual({ from: 0, to: 160 * HOUR });
    expect(detailSpan(run, { from: 950 * HOUR, to: 990 * HOUR })).toEqual({ from: 930 * HOUR, to: 1_000 * HOUR });
  });

  it("lays the stretch's own points over the whole curve, leaving the rest as it was", () => {
    const whole = curve([0, 10, 20, 30, 40, 50]);
    const detail = curve([20, 22, 24, 26, 28, 30], 500);
    const merged = withDetail(whole, detail, { from: 20, to: 30 });
    expect(merged.time).toEqual([0, 10, 20, 22, 24, 26, 28, 30, 40, 50]);
    expect(merged.equity).toEqual([100, 101, 500, 501, 502, 503, 504, 505, 104, 105]);
    expect(merged.count).toBe(10);
    expect(merged.drawdown).toHaveLength(10);
  });

  it("keeps the whole curve without detail or with an empty stretch", () => {
    const whole = curve([0, 10, 20]);
    expect(withDetail(whole, undefined, { from: 0, to: 10 })).toBe(whole);
    expect(withDetail(whole, curve([]), { from: 0, to: 10 })).toBe(whole);
  });
});
