// The playback chart's data, kept outside React: history is set once per reset (`setData`), and every frame
// only appends (`series.update()`), never redrawing what is already there.
//
// A reset (joining, a seek, a resync) needs history up to the new cursor from REST; frames that arrive while
// it loads are held and applied after it, so nothing is lost or drawn out of order. A newer reset makes an
// older one's history moot.
import type { CandlestickData, LineData, SeriesMarker, UTCTimestamp } from "lightweight-charts";
import type { OhlcColumns } from "@/components/charts/series-data";
import { fillPoints, toCandles, toLine, type PricedFill } from "@/components/charts/series-data";
import type { FrameData } from "../api/protocol";

export interface SeriesSink<T> {
  setData(data: T[]): void;
  update(point: T): void;
}

export interface LiveChartSinks {
  candles: SeriesSink<CandlestickData<UTCTimestamp>>;
  equity: SeriesSink<LineData<UTCTimestamp>>;
  /** An invisible series holding one point per bar with fills; the markers sit on it, not on the candles. */
  fills: SeriesSink<LineData<UTCTimestamp>>;
  markers: { setMarkers(markers: SeriesMarker<UTCTimestamp>[]): void };
}

export interface History {
  candles: OhlcColumns;
  /** The run's equity from its start up to the cursor (the curve may be decimated). */
  equity: { time: number[]; equity: number[] };
  fills: PricedFill[];
}

export interface LiveChartLimits {
  /** When more candles than this are on the chart, the oldest half is let go (one setData, rarely). */
  maxCandles: number;
  maxMarkers: number;
}

export const DEFAULT_LIMITS: LiveChartLimits = { maxCandles: 50_000, maxMarkers: 2_000 };

export class LiveChart {
  private candles: CandlestickData<UTCTimestamp>[] = [];
  private equity: LineData<UTCTimestamp>[] = [];
  private fills: PricedFill[] = [];
  private resetToken = 0;
  private pending: FrameData[] | null = null;
  /** Frames drawn since the page opened (read by `make bench`). */
  framesApplied = 0;

  constructor(private readonly sinks: LiveChartSinks, private readonly limits: LiveChartLimits = DEFAULT_LIMITS) {}

  get candleCount(): number {
    return this.candles.length;
  }

  get lastCandleTime(): number | null {
    return this.candles.at(-1)?.time ?? null;
  }

  /** Hold frames until `completeReset` with the same token brings the history they follow. */
  beginReset(): number {
    this.resetToken += 1;
    this.pending = [];
    return this.resetToken;
  }

  completeReset(token: number, history: History | null): void {
    if (token !== this.resetToken || this.pending === null) return;
    const pending = this.pending;
    this.pending = null;
    this.candles = history ? toCandles(history.candles) : [];
    this.equity = history ? toLine(history.equity.time, history.equity.equity) : [];
    this.fills = history ? history.fills.slice(-this.limits.maxMarkers) : [];
    this.sinks.candles.setData(this.candles);
    this.sinks.equity.setData(this.equity);
    this.drawFills();
    for (const frame of pending) this.apply(frame);
  }

  append(frame: FrameData): void {
    if (this.pending !== null) this.pending.push(frame);
    else this.apply(frame);
  }

  private apply(frame: FrameData): void {
    const { bars, equity } = frame;
    const lastCandle = this.lastCandleTime ?? Number.NEGATIVE_INFINITY;
    for (let i = 0; i < bars.time.length; i += 1) {
      const time = bars.time[i] as UTCTimestamp;
      // The history already holds this bar (a frame that raced the reset); update() must never go back.
      if (time <= lastCandle) continue;
      const candle = { time, open: bars.open[i] ?? 0, high: bars.high[i] ?? 0, low: bars.low[i] ?? 0,
        close: bars.close[i] ?? 0 };
      this.candles.push(candle);
      this.sinks.candles.update(candle);
    }
    const lastEquity = this.equity.at(-1)?.time ?? Number.NEGATIVE_INFINITY;
    for (let i = 0; i < equity.time.length; i += 1) {
      const time = equity.time[i] as UTCTimestamp;
      if (time <= lastEquity) continue;
      const point = { time, value: equity.equity[i] ?? 0 };
      this.equity.push(point);
      this.sinks.equity.update(point);
    }
    if (frame.fills.length > 0) {
      const lastFill = this.fills.at(-1)?.time ?? Number.NEGATIVE_INFINITY;
      const added = frame.fills.filter((f) => f.time >= lastFill);
      this.fills.push(...added);
      if (this.fills.length > this.limits.maxMarkers) {
        // The oldest fills go: the fills' series is set anew, so appending the new points first is wasted work.
        this.fills = this.fills.slice(-this.limits.maxMarkers);
        this.drawFills();
      } else {
        const { points, markers } = fillPoints(this.fills);
        for (const point of points) if (point.time >= lastFill) this.sinks.fills.update(point);
        this.sinks.markers.setMarkers(markers);
      }
    }
    if (this.candles.length > this.limits.maxCandles) this.compact();
    this.framesApplied += 1;
  }

  private drawFills(): void {
    const { points, markers } = fillPoints(this.fills);
    this.sinks.fills.setData(points);
    this.sinks.markers.setMarkers(markers);
  }

  private compact(): void {
    const keep = Math.floor(this.limits.maxCandles / 2);
    this.candles = this.candles.slice(-keep);
    const first = this.candles[0]?.time ?? 0;
    // The equity line keeps the run's whole history (decimated) before the bars played here.
    this.equity = this.equity.slice(-this.limits.maxCandles);
    this.fills = this.fills.filter((f) => f.time >= first);
    this.sinks.candles.setData(this.candles);
    this.sinks.equity.setData(this.equity);
    this.drawFills();
  }
}
