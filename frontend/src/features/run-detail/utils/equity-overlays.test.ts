import { describe, expect, it } from "vitest";
import { equityOverlays } from "./equity-overlays";

describe("equity overlays", () => {
  const candles = { time: [0, 10, 20, 30, 40, 50], close: [50, 55, 60, 40, 45, 50] };
  const equity = { time: [0, 10, 20, 30, 40, 50], equity: [1000, 1100, 1200, 900, 950, 1250] };

  it("buys and holds the run's cash at the first close", () => {
    const { buyAndHold } = equityOverlays(equity, 1000, candles);
    expect(buyAndHold.map((p) => p.value)).toEqual([1000, 1100, 1200, 800, 900, 1000]);
  });

  it("shades the candles of a deep drawdown and marks the peak and the longest drawdown", () => {
    const { shading, markers, longest } = equityOverlays(equity, 1000, candles);
    expect(shading.map((s) => s.time)).toEqual([20, 30, 40]); // from the peak at 20 until back above it at 50
    expect(longest).toMatchObject({ start: 20, end: 50, duration: 30 });
    expect(markers.map((m) => [m.time, m.text])).toEqual([
      [20, "Longest drawdown 30 s"], [50, "Peak"], [50, "Recovered"],
    ]);
  });
});
