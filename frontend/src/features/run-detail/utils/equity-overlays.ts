// What the equity pane shows besides the run's equity: buying and holding the same cash (the benchmark), the
// drawdown periods shaded, the curve's peak and its longest drawdown marked — all on the candles' times.
import type { HistogramData, LineData, SeriesMarker, UTCTimestamp } from "lightweight-charts";
import { COLORS } from "@/components/charts/chart-theme";
import { formatDuration } from "@/lib/format";
import { drawdownPeriods, longestPeriod, peakTime, type DrawdownPeriod } from "./drawdown-periods";

/** Drawdowns shallower than this are not shaded (a curve is below its last peak most of the time). */
export const SHADED_DEPTH = 0.05;
const SHADE = "rgba(249, 115, 22, 0.13)";

export interface EquityOverlays {
  buyAndHold: LineData<UTCTimestamp>[];
  shading: HistogramData<UTCTimestamp>[];
  markers: SeriesMarker<UTCTimestamp>[];
  longest: DrawdownPeriod | null;
}

/** Buy and hold: the run's cash in the asset at the first candle's close, marked at every close after. */
function buyAndHold(cash: number, candleTimes: readonly number[], close: readonly number[]): LineData<UTCTimestamp>[] {
  const first = close[0];
  if (first === undefined || first <= 0) return [];
  return candleTimes.map((t, i) => ({ time: t as UTCTimestamp, value: (cash * (close[i] ?? first)) / first }));
}

/** One bar of shade per candle inside a period. */
function shading(periods: readonly DrawdownPeriod[], candleTimes: readonly number[]): HistogramData<UTCTimestamp>[] {
  const out: HistogramData<UTCTimestamp>[] = [];
  let p = 0;
  for (const t of candleTimes) {
    while (p < periods.length && (periods[p]?.end ?? Infinity) <= t) p += 1;
    const period = periods[p];
    if (period !== undefined && period.start <= t) out.push({ time: t as UTCTimestamp, value: 1, color: SHADE });
  }
  return out;
}

/** The candle holding `time` (its bucket's start), so that a marker sits on a time the chart has. */
function onCandle(candleTimes: readonly number[], time: number): UTCTimestamp {
  let chosen = candleTimes[0] ?? time;
  for (const t of candleTimes) {
    if (t > time) break;
    chosen = t;
  }
  return chosen as UTCTimestamp;
}

export function equityOverlays(equity: { time: number[]; equity: number[] }, cash: number,
  candles: { time: readonly number[]; close: readonly number[] }): EquityOverlays {
  const periods = drawdownPeriods(equity.time, equity.equity, SHADED_DEPTH);
  const longest = longestPeriod(drawdownPeriods(equity.time, equity.equity, 0));
  const markers: SeriesMarker<UTCTimestamp>[] = [];
  const peak = peakTime(equity.time, equity.equity);
  if (peak !== null) {
    markers.push({ time: onCandle(candles.time, peak), position: "aboveBar", shape: "circle", color: COLORS.equity, text: "Peak" });
  }
  if (longest !== null) {
    markers.push({ time: onCandle(candles.time, longest.start), position: "aboveBar", shape: "arrowDown", color: COLORS.drawdown,
      text: `Longest drawdown ${formatDuration(longest.duration)}` });
    if (longest.end !== null) {
      markers.push({ time: onCandle(candles.time, longest.end), position: "aboveBar", shape: "arrowUp", color: COLORS.drawdown,
        text: "Recovered" });
    }
  }
  markers.sort((a, b) => a.time - b.time);
  return { buyAndHold: buyAndHold(cash, candles.time, candles.close), shading: shading(periods, candles.time), markers,
    longest };
}
