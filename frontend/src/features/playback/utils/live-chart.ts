// The playback chart's data, kept outside React: history is set once per reset (`setData`), then the frames
// that arrive between two paints are taken in together, once per animation frame.
//
// Why batches and pacing: lightweight-charts rebuilds its time scale (and, zoomed out, its conflated bars) on
// every change that adds a bar, so a bar costs about as much as the whole series: one `update()` per bar at
// 5,000 bars/s (about 170 bars a frame) froze the tab. Here every frame received is applied to the data held
// at the next paint, and the chart is handed the new bars in one go — a single new bar with `update()`, more with
// one `setData()` — but no more often than its own cost allows: after a draw that took d ms (handing over the
// bars, then rendering them at the next paint), the next waits `drawSpacing` × d ms. Cheap draws (a few thousand candles, slow speeds) happen at every paint; with
// 50,000 candles at the fastest speed the chart takes the bars a few times a second, and the page keeps
// painting and answering its controls in between. Frames that arrive while the tab paints nothing (hidden)
// are taken in once a bounded number has queued, so memory stays bounded.
//
// A reset (joining, a seek, a resync) needs history up to the new cursor from REST; frames that arrive while
// it loads are held and applied after it, so nothing is lost or drawn out of order. A newer reset makes an
// older one's history moot.
//
// The strategy's lines are not in the frames: they come from REST with the history, then in chunks up to the
// newest bar held (`appendLines`). A line point is taken only at a time whose candle is held, and drawn with
// it, so a line never runs ahead of the bars played.
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

/** A line's points (time order), as the strategy computed them. */
export interface LineColumns {
  time: number[];
  values: number[];
}

export interface History {
  candles: OhlcColumns;
  /** The run's equity from its start up to the cursor (the curve may be decimated). */
  equity: { time: number[]; equity: number[] };
  fills: PricedFill[];
  /** The strategy's lines up to the cursor, one per line sink (empty while it has none). */
  lines?: LineColumns[];
}

export interface LiveChartLimits {
  /** When more candles than this are held, the oldest are let go down to `keepCandles` (one setData, rarely). */
  maxCandles: number;
  keepCandles: number;
  maxMarkers: number;
  /** Frames queued before they are applied without waiting for a paint (a hidden tab paints nothing). */
  maxQueuedFrames: number;
  /** After a draw that took d ms, the chart is not drawn again for `drawSpacing` × d ms. */
  drawSpacing: number;
}

export const DEFAULT_LIMITS: LiveChartLimits = {
  maxCandles: 60_000, keepCandles: 50_000, maxMarkers: 2_000, maxQueuedFrames: 120, drawSpacing: 6,
};

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
function drawNew<T>(sink: SeriesSink<T>, points: T[], added: number): void {
  if (added === 1) sink.update(points[points.length - 1] as T);
  else if (added > 1) sink.setData(points);
}

export class LiveChart {
  private candles: CandlestickData<UTCTimestamp>[] = [];
  private equity: LineData<UTCTimestamp>[] = [];
  private fills: PricedFill[] = [];
  private lines: LineData<UTCTimestamp>[][] = [];
  private lineSinks: SeriesSink<LineData<UTCTimestamp>>[] = [];
  private resetToken = 0;
  /** Frames held while a reset's history loads (null: no reset under way). */
  private pending: FrameData[] | null = null;
  /** Frames waiting for the next paint. */
  private queued: FrameData[] = [];
  private cancelFlush: (() => void) | null = null;
  /** What is held but not yet on the chart: new candles and equity points, and fills from this time on. */
  private undrawn = { candles: 0, equity: 0, fillsFrom: null as number | null, lines: [] as number[] };
  private nextDrawAt = 0;
  /** The last draw's end and its own cost, until the next paint tells how long the chart took to render it. */
  private lastDraw: { end: number; cost: number } | null = null;
  /** Frames received and applied since the page opened (read by the browser tests and `make bench`). */
  framesReceived = 0;
  framesApplied = 0;
  /** Times the chart was handed new bars. */
  draws = 0;

  constructor(private readonly sinks: LiveChartSinks, private readonly limits: LiveChartLimits = DEFAULT_LIMITS,
    private readonly schedule: PaintScheduler = nextAnimationFrame, private readonly onApplied: () => void = () => {},
    private readonly now: () => number = () => performance.now()) {}

  get candleCount(): number {
    return this.candles.length;
  }

  get lastCandleTime(): number | null {
    return this.candles.at(-1)?.time ?? null;
  }

  /** Changes with every reset: lines loaded for an older one are refused. */
  get generation(): number {
    return this.resetToken;
  }

  /** Where the strategy's lines go, one sink per line (set once their series exist). */
  attachLines(sinks: SeriesSink<LineData<UTCTimestamp>>[]): void {
    this.lineSinks = sinks;
    this.lines = sinks.map(() => []);
  }

  /**
   * Adds the lines' points (one entry per line sink) loaded for `generation`, up to the newest candle held;
   * returns false when a reset came in between (the points belong to another stretch).
   */
  appendLines(generation: number, lines: readonly LineColumns[]): boolean {
    if (generation !== this.resetToken || this.pending !== null) return false;
    const last = this.lastCandleTime ?? Number.NEGATIVE_INFINITY;
    let added = 0;
    lines.forEach((line, i) => {
      const target = this.lines[i];
      if (!target) return;
      const times = line.time.filter((t) => t <= last);
      const n = appendNewer(target, times, (j, time) => ({ time, value: line.values[j] ?? 0 }));
      this.undrawn.lines[i] = (this.undrawn.lines[i] ?? 0) + n;
      added += n;
    });
    if (added > 0) this.cancelFlush ??= this.schedule(() => this.flush());
    return true;
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
    this.lines = this.lineSinks.map((_, i) => {
      const line = history?.lines?.[i];
      return line ? toLine(line.time, line.values) : [];
    });
    // The frames held meanwhile join the history before anything is drawn: one setData per series.
    this.merge(pending);
    this.trim();
    this.setAll();
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

  /** Applies every queued frame now and draws what is held if the chart is due (called before a paint). */
  flush(): void {
    const frames = this.takeQueued();
    if (this.lastDraw !== null) {
      // The chart renders a draw at the next paint: the time until this one is the draw's real cost.
      const { end, cost } = this.lastDraw;
      this.lastDraw = null;
      this.nextDrawAt = end + this.limits.drawSpacing * (cost + this.now() - end);
    }
    if (frames.length > 0) {
      const added = this.merge(frames);
      this.undrawn.candles += added.candles;
      this.undrawn.equity += added.equity;
      if (added.fills > 0) this.undrawn.fillsFrom ??= added.firstFill;
    }
    const waiting = this.undrawn.candles + this.undrawn.equity > 0 || this.undrawn.fillsFrom !== null
      || this.undrawn.lines.some((n) => n > 0);
    if (waiting && this.now() >= this.nextDrawAt) this.draw();
    // Bars held but not drawn yet are drawn at a later paint, even if no frame comes to ask for one.
    else if (waiting) this.cancelFlush ??= this.schedule(() => this.flush());
    if (frames.length > 0) this.onApplied();
  }

  /**
   * Keeps the chart from drawing for `ms` (frames are still applied): called when the person presses a key or
   * the pointer, so that a long draw never stands between their action and its answer.
   */
  yieldTo(ms: number): void {
    this.nextDrawAt = Math.max(this.nextDrawAt, this.now() + ms);
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

  private draw(): void {
    const started = this.now();
    const { candles, equity, fillsFrom, lines } = this.undrawn;
    this.undrawn = { candles: 0, equity: 0, fillsFrom: null, lines: [] };
    if (this.candles.length > this.limits.maxCandles) {
      this.trim();
      this.setAll();
    } else {
      // Candles first: the equity's and the fills' points then land on times the chart already has.
      drawNew(this.sinks.candles, this.candles, candles);
      drawNew(this.sinks.equity, this.equity, equity);
      if (fillsFrom !== null) this.drawNewFills(fillsFrom);
      this.lineSinks.forEach((sink, i) => drawNew(sink, this.lines[i] ?? [], lines[i] ?? 0));
    }
    this.draws += 1;
    const end = this.now();
    this.lastDraw = { end, cost: end - started };
    this.nextDrawAt = end + this.limits.drawSpacing * (end - started);
    this.cancelFlush ??= this.schedule(() => this.flush()); // to learn what rendering it cost
  }

  /** Adds the frames' bars, equity and fills to what is held, without drawing; counts what each gained. */
  private merge(frames: readonly FrameData[]): { candles: number; equity: number; fills: number; firstFill: number } {
    const added = { candles: 0, equity: 0, fills: 0, firstFill: Number.POSITIVE_INFINITY };
    for (const { bars, equity, fills } of frames) {
      added.candles += appendNewer(this.candles, bars.time, (i, time) => ({
        time, open: bars.open[i] ?? 0, high: bars.high[i] ?? 0, low: bars.low[i] ?? 0, close: bars.close[i] ?? 0,
      }));
      added.equity += appendNewer(this.equity, equity.time, (i, time) => ({ time, value: equity.equity[i] ?? 0 }));
      const lastFill = this.fills.at(-1)?.time ?? Number.NEGATIVE_INFINITY;
      const newer = fills.filter((f) => f.time >= lastFill);
      this.fills.push(...newer);
      added.fills += newer.length;
      if (newer[0] !== undefined) added.firstFill = Math.min(added.firstFill, newer[0].time);
    }
    this.framesApplied += frames.length;
    return added;
  }

  private drawNewFills(from: number): void {
    if (this.fills.length > this.limits.maxMarkers) {
      // The oldest fills go: the fills' series is set anew.
      this.drawFills();
      return;
    }
    const { points, markers } = fillPoints(this.fills);
    for (const point of points) if (point.time >= from) this.sinks.fills.update(point);
    this.sinks.markers.setMarkers(markers);
  }

  private drawFills(): void {
    if (this.fills.length > this.limits.maxMarkers) this.fills = this.fills.slice(-this.limits.maxMarkers);
    const { points, markers } = fillPoints(this.fills);
    this.sinks.fills.setData(points);
    this.sinks.markers.setMarkers(markers);
  }

  /** Lets the oldest candles go past the limit; the equity and fills keep to the same stretch. */
  private trim(): void {
    if (this.candles.length <= this.limits.maxCandles) return;
    this.candles = this.candles.slice(-this.limits.keepCandles);
    const first = this.candles[0]?.time ?? 0;
    this.equity = this.equity.filter((p) => p.time >= first);
    this.fills = this.fills.filter((f) => f.time >= first);
    this.lines = this.lines.map((line) => line.filter((p) => p.time >= first));
  }

  private setAll(): void {
    this.sinks.candles.setData(this.candles);
    this.sinks.equity.setData(this.equity);
    this.lineSinks.forEach((sink, i) => sink.setData(this.lines[i] ?? []));
    this.drawFills();
  }
}
