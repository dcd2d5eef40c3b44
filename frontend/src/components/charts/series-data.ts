// Columnar API data → the point arrays lightweight-charts draws, and fills → markers on the candles.
import type { CandlestickData, LineData, SeriesMarker, UTCTimestamp } from "lightweight-charts";
import { COLORS } from "./chart-theme";

export interface OhlcColumns {
  time: number[];
  open: number[];
  high: number[];
  low: number[];
  close: number[];
}

export function toCandles(columns: OhlcColumns): CandlestickData<UTCTimestamp>[] {
  const out: CandlestickData<UTCTimestamp>[] = new Array(columns.time.length);
  for (let i = 0; i < columns.time.length; i += 1) {
    out[i] = {
      time: columns.time[i] as UTCTimestamp,
      open: columns.open[i] ?? Number.NaN,
      high: columns.high[i] ?? Number.NaN,
      low: columns.low[i] ?? Number.NaN,
      close: columns.close[i] ?? Number.NaN,
    };
  }
  return out;
}

export function toLine(time: number[], values: number[], scale = 1): LineData<UTCTimestamp>[] {
  const n = Math.min(time.length, values.length);
  const out: LineData<UTCTimestamp>[] = new Array(n);
  for (let i = 0; i < n; i += 1) out[i] = { time: time[i] as UTCTimestamp, value: (values[i] ?? 0) * scale };
  return out;
}

/** Index of the last time <= t in ascending `times`; -1 when t is before the first. */
export function indexAtOrBefore(times: readonly number[], t: number): number {
  let lo = 0;
  let hi = times.length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if ((times[mid] ?? Number.POSITIVE_INFINITY) <= t) {
      found = mid;
      lo = mid + 1;
    } else {
      hi = mid - 1;
    }
  }
  return found;
}

export interface MarkerFill {
  time: number;
  side: "buy" | "sell";
}

/**
 * One marker per candle and side, on the candle whose bucket holds the fill (a wide candle can hold many
 * fills; the marker then says how many). Fills outside the candles' range are left out.
 */
export function fillMarkers(fills: readonly MarkerFill[], candleTimes: readonly number[],
  bucketSeconds: number): SeriesMarker<UTCTimestamp>[] {
  const counts = new Map<string, { index: number; side: "buy" | "sell"; n: number }>();
  const last = candleTimes[candleTimes.length - 1];
  for (const fill of fills) {
    const index = indexAtOrBefore(candleTimes, fill.time);
    if (index < 0 || last === undefined || fill.time >= last + bucketSeconds) continue;
    const key = `${index}:${fill.side}`;
    const entry = counts.get(key);
    if (entry) entry.n += 1;
    else counts.set(key, { index, side: fill.side, n: 1 });
  }
  return [...counts.values()]
    .sort((a, b) => a.index - b.index || (a.side === "buy" ? -1 : 1))
    .map(({ index, side, n }) => ({
      time: candleTimes[index] as UTCTimestamp,
      position: side === "buy" ? "belowBar" : "aboveBar",
      shape: side === "buy" ? "arrowUp" : "arrowDown",
      color: side === "buy" ? COLORS.buy : COLORS.sell,
      text: n > 1 ? `${side === "buy" ? "B" : "S"}×${n}` : side === "buy" ? "B" : "S",
      size: 1,
    }));
}

export interface MarkerLimits {
  /** Up to this many markers are always drawn. */
  showAllUpTo: number;
  /** More than that are drawn only once the chart is zoomed in to at most this many candles. */
  zoomedCandles: number;
}

export const MARKER_LIMITS: MarkerLimits = { showAllUpTo: 300, zoomedCandles: 400 };

/**
 * The markers worth drawing for the candles on screen (`from`/`to` are the chart's logical range, in candle
 * indexes), or null when there are too many to read and the chart should be zoomed in first.
 */
export function markersInView<T extends { time: number }>(markers: readonly T[], candleTimes: readonly number[],
  range: { from: number; to: number } | null, limits: MarkerLimits = MARKER_LIMITS): T[] | null {
  if (markers.length <= limits.showAllUpTo) return [...markers];
  if (range === null || range.to - range.from > limits.zoomedCandles) return null;
  const last = candleTimes.length - 1;
  const first = candleTimes[Math.max(0, Math.min(last, Math.floor(range.from)))] ?? Number.NEGATIVE_INFINITY;
  const end = candleTimes[Math.max(0, Math.min(last, Math.ceil(range.to)))] ?? Number.POSITIVE_INFINITY;
  return markers.filter((m) => m.time >= first && m.time <= end);
}

export interface PricedFill extends MarkerFill {
  price: number;
}

/**
 * Fills as points of a series of their own (one per bar, at the first fill's price) and markers on it at the
 * fill prices: markers tied to a series are recomputed whenever that series changes, so keeping them off the
 * candles lets the candles take a new bar without touching thousands of markers.
 */
export function fillPoints(fills: readonly PricedFill[]): {
  points: LineData<UTCTimestamp>[];
  markers: SeriesMarker<UTCTimestamp>[];
} {
  const points: LineData<UTCTimestamp>[] = [];
  const markers: SeriesMarker<UTCTimestamp>[] = [];
  let group: { time: number; side: "buy" | "sell"; n: number; price: number } | null = null;
  const flush = () => {
    if (group === null) return;
    const { time, side, n, price } = group;
    markers.push({
      time: time as UTCTimestamp, position: side === "buy" ? "atPriceBottom" : "atPriceTop", price,
      shape: side === "buy" ? "arrowUp" : "arrowDown", color: side === "buy" ? COLORS.buy : COLORS.sell,
      text: `${side === "buy" ? "B" : "S"}${n > 1 ? `×${n}` : ""}`, size: 1,
    });
  };
  for (const fill of fills) {
    if (points.at(-1)?.time !== fill.time) points.push({ time: fill.time as UTCTimestamp, value: fill.price });
    if (group !== null && group.time === fill.time && group.side === fill.side) {
      group.n += 1;
    } else {
      flush();
      group = { time: fill.time, side: fill.side, n: 1, price: fill.price };
    }
  }
  flush();
  return { points, markers };
}
