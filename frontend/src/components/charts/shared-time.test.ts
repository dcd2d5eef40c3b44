import { describe, expect, it } from "vitest";
import { PositionTimeline, snapToCandles } from "./shared-time";

describe("one time axis", () => {
  it("moves each line point onto the candle holding it, the last of a candle winning, none before the first", () => {
    const candles = [100, 160, 220];
    const line = snapToCandles([50, 100, 130, 150, 170, 400], [1, 2, 3, 4, 5, 6], candles, 10);
    expect(line).toEqual([{ time: 100, value: 40 }, { time: 160, value: 50 }, { time: 220, value: 60 }]);
    // Every point sits on a candle's time: the time scale gains no index of its own from the line.
    expect(line.every((p) => candles.includes(p.time))).toBe(true);
  });

  it("knows the position after the fills up to a time", () => {
    const positions = new PositionTimeline([
      { time: 10, side: "buy", quantity: 2 }, { time: 20, side: "sell", quantity: 0.5 }, { time: 20, side: "sell", quantity: 1.5 },
    ]);
    expect(positions.at(5)).toBe(0);
    expect(positions.at(10)).toBe(2);
    expect(positions.at(19)).toBe(2);
    expect(positions.at(20)).toBe(0);
  });
});
