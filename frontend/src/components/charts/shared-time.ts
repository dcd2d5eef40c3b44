// One time axis for every pane of a chart. lightweight-charts spaces bars by index, not by time: a line whose
// points fall between the candles' times adds indexes of its own, and the axis stops being linear (a decimated
// equity curve squeezed the candles around each of its points). Snapping each point onto the candle that holds
// it keeps every pane on the candles' own, evenly spaced, times.
import type { LineData, UTCTimestamp } from "lightweight-charts";
import { indexAtOrBefore } from "./series-data";

/**
 * The line's points moved onto the time of the candle holding each (the last point of a candle wins: the value
 * at its close). Points before the first candle are left out; `scale` multiplies every value.
 */
export function snapToCandles(time: readonly number[], values: readonly number[], candleTimes: readonly number[],
  scale = 1): LineData<UTCTimestamp>[] {
  const out: LineData<UTCTimestamp>[] = [];
  const n = Math.min(time.length, values.length);
  for (let i = 0; i < n; i += 1) {
    const index = indexAtOrBefore(candleTimes, time[i] ?? Number.NaN);
    if (index < 0) continue;
    const point = { time: candleTimes[index] as UTCTimestamp, value: (values[i] ?? 0) * scale };
    if (out.at(-1)?.time === point.time) out[out.length - 1] = point;
    else out.push(point);
  }
  return out;
}

export interface PositionFill {
  time: number;
  side: "buy" | "sell";
  quantity: number;
}

/** The position held after each fill, so that the position at any time is one binary search away. */
export class PositionTimeline {
  private readonly times: number[] = [];
  private readonly positions: number[] = [];

  constructor(fills: readonly PositionFill[]) {
    let position = 0;
    for (const fill of fills) {
      position += fill.side === "buy" ? fill.quantity : -fill.quantity;
      this.times.push(fill.time);
      this.positions.push(position);
    }
  }

  /** The position after every fill up to and including `time` (0 before the first). */
  at(time: number): number {
    const index = indexAtOrBefore(this.times, time);
    return index < 0 ? 0 : (this.positions[index] ?? 0);
  }
}
