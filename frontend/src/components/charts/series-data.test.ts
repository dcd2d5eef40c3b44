import { describe, expect, it } from "vitest";
import { fillMarkers, fillPoints, indexAtOrBefore, markersInView, toCandles, toLine } from "./series-data";

describe("series data", () => {
  it("turns columns into candles and line points", () => {
    const candles = toCandles({ time: [60, 120], open: [1, 2], high: [3, 4], low: [0, 1], close: [2, 3] });
    expect(candles).toEqual([{ time: 60, open: 1, high: 3, low: 0, close: 2 }, { time: 120, open: 2, high: 4, low: 1, close: 3 }]);
    expect(toLine([1, 2, 3], [-0.1, -0.2], 100)).toEqual([{ time: 1, value: -10 }, { time: 2, value: -20 }]);
  });

  it("finds the last time at or before a moment", () => {
    const times = [10, 20, 30];
    expect([5, 10, 15, 30, 99].map((t) => indexAtOrBefore(times, t))).toEqual([-1, 0, 0, 2, 2]);
    expect(indexAtOrBefore([], 1)).toBe(-1);
  });

  it("puts each fill on the candle whose bucket holds it, one marker per candle and side", () => {
    const hour = 3_600;
    const candles = [0, hour, 2 * hour];
    const fills = [
      { time: 60, side: "buy" as const },
      { time: 120, side: "buy" as const },
      { time: 180, side: "sell" as const },
      { time: hour + 1, side: "sell" as const },
      { time: 3 * hour, side: "buy" as const }, // past the last bucket: not on this chart
      { time: -5, side: "buy" as const }, // before the first: not on this chart
    ];
    const markers = fillMarkers(fills, candles, hour);
    expect(markers.map((m) => [m.time, m.position, m.text])).toEqual([
      [0, "belowBar", "B×2"], [0, "aboveBar", "S"], [hour, "aboveBar", "S"],
    ]);
  });
});

describe("markers in view", () => {
  const times = Array.from({ length: 1_000 }, (_, i) => i * 60);
  const markers = times.map((time) => ({ time }));
  const limits = { showAllUpTo: 10, zoomedCandles: 100 };

  it("draws few markers always, and many only once zoomed in, for the candles on screen", () => {
    expect(markersInView(markers.slice(0, 10), times, null, limits)).toHaveLength(10);
    expect(markersInView(markers, times, { from: 0, to: 999 }, limits)).toBeNull();
    expect(markersInView(markers, times, null, limits)).toBeNull();
    const zoomed = markersInView(markers, times, { from: 100.4, to: 149.6 }, limits);
    expect(zoomed?.[0]?.time).toBe(100 * 60);
    expect(zoomed?.at(-1)?.time).toBe(150 * 60);
  });

  it("copes with a range past either end", () => {
    expect(markersInView(markers, times, { from: -20, to: 30 }, limits)).toHaveLength(31);
  });
});

describe("fill points", () => {
  it("puts one point per bar and one marker per bar and side, at the fill prices", () => {
    const { points, markers } = fillPoints([
      { time: 60, side: "buy", price: 10 },
      { time: 120, side: "sell", price: 12 },
      { time: 120, side: "sell", price: 12.5 },
      { time: 120, side: "buy", price: 12.5 },
    ]);
    expect(points).toEqual([{ time: 60, value: 10 }, { time: 120, value: 12 }]);
    expect(markers.map((m) => [m.time, m.position, m.text, "price" in m ? m.price : null])).toEqual([
      [60, "atPriceBottom", "B", 10], [120, "atPriceTop", "S×2", 12], [120, "atPriceBottom", "B", 12.5],
    ]);
  });
});
