// The playback chart's data, kept outside React: history is set once per reset (`setData`), then the frames
// that arrive between two paints are applied together, once per animation frame.
//
// Why batches: lightweight-charts rebuilds its time scale on every `series.update()` that adds a bar, so a
// bar costs as much as the whole series. At 5,000 bars/s (about 170 bars a frame, 30 frames a second) one
// update per bar froze the tab. A paint's worth of frames is applied as one: a single new bar with `update()`,
// more with one `setData()` of the series held (one rebuild instead of one per bar). Frames that arrive while
// the tab paints nothing (hidden) are applied once a bounded number has queued, so memory stays bounded.
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
  /** Frames queued before they are applied without waiting for a paint (a hidden tab paints nothing). */
  maxQueuedFrames: number;
}

export const DEFAULT_LIMITS: LiveChartLimits = { maxCandles: 100_000, maxMarkers: 2_000, maxQueuedFrames: 120 };

/** Runs `flush` before the next paint; returns a function that cancels it. */
export type PaintScheduler = (flush: () => void) => () => void;

export const nextAnimationFrame: PaintScheduler = (flush) => {
  const id = requestAnimationFrame(flush);
  return () => cancelAnimationFrame(id);
};

/** Appends `source` points later than the last of `target` to it; returns how many were added. */
function appendNewer<T extends { time: UTCTimestamp }>(target: T[], times: readonly number[],
  point: (i: number, time: UTCTimestamp) => T): number {
  let last = target.at(-1)?.time ?? Number.NEGATIVE_INFINITY;
  let added = 0;
  for (let i = 0; i < times.length; i += 1) {
    const time = times[i] as UTCTimestamp;
    // The history already holds this point (a frame that raced the reset); a series never goes back.
    if (time <= last) continue;
    target.push(point(i, time));
    last = time;
    added += 1;
  }
  return added;
}

/** One new point is an `update()`; several are one `setData()` of everything held. */
function draw<T>(sink: SeriesSink<T>, points: T[], added: number): void {
  if (added === 1) sink.update(points[points.length - 1] as T);
  else if (added > 1) sink.setData(points);
}

export class LiveChart {
  private candles: CandlestickData<UTCTimestamp>[] = [];
  private equity: LineData<UTCTimestamp>[] = [];
  private fills: PricedFill[] = [];
  private resetToken = 0;
  /** Frames held while a reset's history loads (null: no reset under way). */
  private pending: FrameData[] | null = null;
  /** Frames waiting for the next paint. */
  private queued: FrameData[] = [];
  private cancelFlush: (() => void) | null = null;
  /** Frames received and frames drawn since the page opened (read by the browser tests and `make bench`). */
  framesReceived = 0;
  framesApplied = 0;
  /** Batches applied: how many times the series were touched. */
  batchesApplied = 0;

  constructor(private readonly sinks: LiveChartSinks, private readonly limits: LiveChartLimits = DEFAULT_LIMITS,
    private readonly schedule: PaintScheduler = nextAnimationFrame, private readonly onApplied: () => void = () => {}) {}

  get candleCount(): number {
    return this.candles.length;
  }

  get lastCandleTime(): number | null {
    return this.candles.at(-1)?.time ?? null;
  }

  /** Hold frames until `completeReset` with the same token brings the history they follow. */
  beginReset(): number {
    this.resetToken += 1;
    this.pending = [...(this.pending ?? []), ...this.takeQueued()];
    return this.resetToken;
  }

  completeReset(token: number, history: History | null): void {
    if (token !== this.resetToken || this.pending === null) return;
    const pending = this.pending;
    this.pending = null;
    this.candles = history ? toCandles(history.candles) : [];
    this.equity = history ? toLine(history.equity.time, history.equity.equity) : [];
    this.fills = history ? history.fills : [];
    // The frames held meanwhile join the history before anything is drawn: one setData per series.
    this.merge(pending);
    if (this.candles.length > this.limits.maxCandles) this.candles = this.candles.slice(-this.limits.maxCandles);
    this.sinks.candles.setData(this.candles);
    this.sinks.equity.setData(this.equity);
    this.drawFills();
    this.onApplied();
  }

  append(frame: FrameData): void {
    this.framesReceived += 1;
    if (this.pending !== null) {
      this.pending.push(frame);
      return;
    }
    this.queued.push(frame);
    if (this.queued.length >= this.limits.maxQueuedFrames) this.flush();
    else this.cancelFlush ??= this.schedule(() => this.flush());
  }

  /** Applies every queued frame now (normally called by the scheduler before a paint). */
  flush(): void {
    this.applyBatch(this.takeQueued());
  }

  dispose(): void {
    this.takeQueued();
  }

  private takeQueued(): FrameData[] {
    this.cancelFlush?.();
    this.cancelFlush = null;
    const frames = this.queued;
    this.queued = [];
    return frames;
  }

  private applyBatch(frames: readonly FrameData[]): void {
    if (frames.length === 0) return;
    const lastFill = this.fills.at(-1)?.time ?? Number.NEGATIVE_INFINITY;
    const added = this.merge(frames);
    this.batchesApplied += 1;
    if (this.candles.length > this.limits.maxCandles) {
      this.compact();
    } else {
      // Candles first: a fill's point then lands on a time the chart already has, which is cheap to add.
      draw(this.sinks.candles, this.candles, added.candles);
      draw(this.sinks.equity, this.equity, added.equity);
      if (added.fills > 0) this.drawNewFills(lastFill);
    }
    this.onApplied();
  }

  /** Adds the frames' bars, equity and fills to what is held, without drawing; counts what each gained. */
  private merge(frames: readonly FrameData[]): { candles: number; equity: number; fills: number } {
    const added = { candles: 0, equity: 0, fills: 0 };
    for (const { bars, equity, fills } of frames) {
      added.candles += appendNewer(this.candles, bars.time, (i, time) => ({
        time, open: bars.open[i] ?? 0, high: bars.high[i] ?? 0, low: bars.low[i] ?? 0, close: bars.close[i] ?? 0,
      }));
      added.equity += appendNewer(this.equity, equity.time, (i, time) => ({ time, value: equity.equity[i] ?? 0 }));
      const lastFill = this.fills.at(-1)?.time ?? Number.NEGATIVE_INFINITY;
      const newer = fills.filter((f) => f.time >= lastFill);
      this.fills.push(...newer);
      added.fills += newer.length;
    }
    this.framesApplied += frames.length;
    return added;
  }

  private drawNewFills(lastFill: number): void {
    if (this.fills.length > this.limits.maxMarkers) {
      // The oldest fills go: the fills' series is set anew.
      this.drawFills();
      return;
    }
    const { points, markers } = fillPoints(this.fills);
    for (const point of points) if (point.time >= lastFill) this.sinks.fills.update(point);
    this.sinks.markers.setMarkers(markers);
  }

  private drawFills(): void {
    if (this.fills.length > this.limits.maxMarkers) this.fills = this.fills.slice(-this.limits.maxMarkers);
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
