import { describe, expect, it } from "vitest";
import { barsFrame } from "@/test/messages";
import { LiveChart, type History, type LiveChartLimits } from "./live-chart";

class FakeSeries<T extends { time: number }> {
  data: T[] = [];
  setDataCalls = 0;
  updateCalls = 0;
  setData(points: T[]) {
    this.data = [...points];
    this.setDataCalls += 1;
  }
  update(point: T) {
    this.updateCalls += 1;
    const last = this.data.at(-1);
    if (last && point.time < last.time) throw new Error("update() went back in time");
    if (last && point.time === last.time) this.data[this.data.length - 1] = point;
    else this.data.push(point);
  }
}

/** A paint scheduler the test drives: `paint()` runs what the chart asked to run before the next paint. */
function paints() {
  let waiting: (() => void) | null = null;
  let requests = 0;
  const schedule = (flush: () => void) => {
    waiting = flush;
    requests += 1;
    return () => {
      waiting = null;
    };
  };
  return {
    schedule,
    get requests() {
      return requests;
    },
    paint() {
      const flush = waiting;
      waiting = null;
      flush?.();
    },
  };
}

function setup(limits: Partial<LiveChartLimits> = {}) {
  const painter = paints();
  const clock = { now: 0, drawCost: 0 };
  const candles = new FakeSeries<{ time: number; close: number }>();
  const equity = new FakeSeries<{ time: number; value: number }>();
  const fills = new FakeSeries<{ time: number; value: number }>();
  const markers = { last: [] as unknown[], setMarkers(m: unknown[]) { this.last = m; } };
  const chart = new LiveChart({ candles: candles as never, equity: equity as never, fills: fills as never, markers },
    { maxCandles: 1_000, keepCandles: 500, maxMarkers: 100, maxQueuedFrames: 50, drawSpacing: 4, ...limits },
    painter.schedule, () => {}, () => clock.now);
  // Handing the chart its candles takes `drawCost` ms of the test's clock.
  const setData = candles.setData.bind(candles);
  candles.setData = (points) => {
    clock.now += clock.drawCost;
    setData(points);
  };
  return { candles, equity, fills, markers, chart, painter, clock };
}

function history(to: number): History {
  const f = barsFrame(0, to);
  return { candles: f.bars, equity: { time: f.equity.time, equity: f.equity.equity },
    fills: [{ time: f.bars.time[0] ?? 0, side: "buy", price: 100 }] };
}

describe("live chart", () => {
  it("applies the frames that arrive between two paints together, at the paint", () => {
    const s = setup();
    s.chart.completeReset(s.chart.beginReset(), history(9));
    s.chart.append(barsFrame(10, 12));
    s.chart.append(barsFrame(13, 13));
    expect(s.candles.data).toHaveLength(10); // nothing drawn before the paint
    expect(s.painter.requests).toBe(1); // one paint asked for both frames
    s.painter.paint();
    // Four new bars are one setData of the series held, not four rebuilding updates.
    expect(s.candles.setDataCalls).toBe(2);
    expect(s.candles.updateCalls).toBe(0);
    expect(s.candles.data.map((c) => c.close)).toEqual(Array.from({ length: 14 }, (_, i) => 100 + i));
    expect(s.equity.data).toHaveLength(14);
    expect(s.chart.framesApplied).toBe(2);
    expect(s.chart.draws).toBe(1);
  });

  it("waits after an expensive draw before drawing again, still applying every frame meanwhile", () => {
    const s = setup();
    s.chart.completeReset(s.chart.beginReset(), history(9));
    s.clock.drawCost = 10; // a draw takes 10 ms: the next waits 4 × 10 ms
    s.chart.append(barsFrame(10, 12));
    s.painter.paint();
    expect(s.candles.data).toHaveLength(13);
    s.chart.append(barsFrame(13, 15));
    s.clock.now += 16;
    s.painter.paint();
    expect(s.chart.framesApplied).toBe(2); // taken in...
    expect(s.candles.data).toHaveLength(13); // ...but not drawn yet
    s.clock.now += 100; // the draw's 10 ms and the 16 ms until the paint after it: 4 × 26 ms from its end
    s.painter.paint(); // no frame came, the paint still draws what was held
    expect(s.candles.data).toHaveLength(16);
    expect(s.chart.draws).toBe(2);
  });

  it("holds its draws for a while when asked to make way for a person's input", () => {
    const s = setup();
    s.chart.completeReset(s.chart.beginReset(), history(9));
    s.chart.yieldTo(200);
    s.chart.append(barsFrame(10, 12));
    s.painter.paint();
    expect(s.chart.framesApplied).toBe(1);
    expect(s.candles.data).toHaveLength(10);
    s.clock.now += 200;
    s.painter.paint();
    expect(s.candles.data).toHaveLength(13);
  });

  it("draws a single new bar with update()", () => {
    const s = setup();
    s.chart.completeReset(s.chart.beginReset(), history(9));
    s.chart.append(barsFrame(10, 10));
    s.painter.paint();
    expect(s.candles.setDataCalls).toBe(1);
    expect(s.candles.updateCalls).toBe(1);
    expect(s.candles.data).toHaveLength(11);
  });

  it("applies frames without waiting for a paint once too many queued (a hidden tab paints nothing)", () => {
    const s = setup({ maxQueuedFrames: 3 });
    s.chart.completeReset(s.chart.beginReset(), history(9));
    for (let bar = 10; bar < 13; bar += 1) s.chart.append(barsFrame(bar, bar));
    expect(s.candles.data).toHaveLength(13);
    expect(s.chart.framesApplied).toBe(3);
    s.painter.paint(); // the paint finds nothing left to do
    expect(s.chart.draws).toBe(1);
  });

  it("a reset takes the frames still waiting for a paint along with those that arrive while it loads", () => {
    const s = setup();
    s.chart.completeReset(s.chart.beginReset(), history(5));
    s.chart.append(barsFrame(6, 9));
    const token = s.chart.beginReset();
    s.painter.paint(); // the queued frame went with the reset
    expect(s.candles.data).toHaveLength(6);
    s.chart.completeReset(token, history(7));
    expect(s.candles.data.map((c) => c.close)).toEqual(Array.from({ length: 10 }, (_, i) => 100 + i));
  });

  it("holds frames that arrive while history loads and applies them after it, skipping bars it already has", () => {
    const s = setup();
    const token = s.chart.beginReset();
    s.chart.append(barsFrame(8, 11)); // raced the history, which ends at bar 9
    s.chart.append(barsFrame(12, 12));
    expect(s.candles.data).toHaveLength(0);
    s.chart.completeReset(token, history(9));
    expect(s.candles.data.map((c) => c.close)).toEqual(Array.from({ length: 13 }, (_, i) => 100 + i));
  });

  it("ignores the history of a reset that a newer one replaced", () => {
    const s = setup();
    const stale = s.chart.beginReset();
    const fresh = s.chart.beginReset();
    s.chart.completeReset(stale, history(50));
    expect(s.candles.data).toHaveLength(0);
    s.chart.completeReset(fresh, history(3));
    expect(s.candles.data).toHaveLength(4);
  });

  it("marks fills of new frames next to the history's, on a series of their own", () => {
    const s = setup();
    s.chart.completeReset(s.chart.beginReset(), history(9));
    const frame = barsFrame(10, 11);
    frame.fills = [{ bar_index: 10, time: frame.bars.time[0] ?? 0, side: "sell", quantity: 1, price: 110, fee: 0,
      reason: "signal", realized_pnl: 0 }];
    s.chart.append(frame);
    s.painter.paint();
    s.chart.append(barsFrame(12, 12)); // no fills: neither the fills nor the markers are touched
    s.painter.paint();
    expect(s.markers.last).toHaveLength(2);
    expect(s.fills.data.map((p) => p.value)).toEqual([100, 110]);
    expect(s.fills.setDataCalls).toBe(1);
  });

  it("keeps only the newest fills once more than the limit arrived, drawing them once", () => {
    const s = setup({ maxMarkers: 3 });
    s.chart.completeReset(s.chart.beginReset(), history(9));
    for (let bar = 10; bar < 14; bar += 1) {
      const frame = barsFrame(bar, bar);
      frame.fills = [{ bar_index: bar, time: frame.bars.time[0] ?? 0, side: "buy", quantity: 1, price: 100 + bar,
        fee: 0, reason: "signal", realized_pnl: 0 }];
      s.chart.append(frame);
      s.painter.paint();
    }
    expect(s.fills.data.map((p) => p.value)).toEqual([111, 112, 113]);
    expect(s.markers.last).toHaveLength(3);
  });

  it("lets the oldest candles go when too many pile up, and the equity with them", () => {
    const s = setup({ maxCandles: 20, keepCandles: 10, maxMarkers: 10 });
    s.chart.completeReset(s.chart.beginReset(), history(9));
    s.chart.append(barsFrame(10, 20));
    s.painter.paint();
    expect(s.chart.candleCount).toBe(10);
    expect(s.candles.data[0]?.close).toBe(111);
    expect(s.equity.data.map((p) => p.time)).toEqual(s.candles.data.map((c) => c.time)); // the same stretch
  });

  it("starts empty before the first bar", () => {
    const s = setup();
    s.chart.completeReset(s.chart.beginReset(), null);
    s.chart.append(barsFrame(0, 1));
    s.painter.paint();
    expect(s.candles.data).toHaveLength(2);
  });

  describe("the strategy's lines", () => {
    const t = (i: number) => 1_000 + i * 60; // the bar times of barsFrame
    const line = (from: number, to: number) => {
      const time = Array.from({ length: to - from + 1 }, (_, i) => t(from + i));
      return { time, values: time.map((x) => x / 60) };
    };

    it("come with the history, then in chunks drawn with their bars, never past the newest candle held", () => {
      const s = setup();
      const sma = new FakeSeries<{ time: number; value: number }>();
      s.chart.attachLines([sma as never]);
      s.chart.completeReset(s.chart.beginReset(), { ...history(9), lines: [line(3, 9)] });
      expect(sma.data.map((p) => p.time)).toEqual(line(3, 9).time);
      s.chart.append(barsFrame(10, 14));
      s.painter.paint();
      // A chunk reaching past the bars played (14) keeps only the points up to the newest candle.
      expect(s.chart.appendLines(s.chart.generation, [line(10, 20)])).toBe(true);
      s.painter.paint();
      expect(sma.data.at(-1)?.time).toBe(t(14));
      expect(sma.data).toHaveLength(12);
      expect(sma.data.every((p, i) => i === 0 || p.time > (sma.data[i - 1]?.time ?? 0))).toBe(true);
    });

    it("refuse a chunk loaded before a reset, and start again from the reset's history", () => {
      const s = setup();
      const sma = new FakeSeries<{ time: number; value: number }>();
      s.chart.attachLines([sma as never]);
      s.chart.completeReset(s.chart.beginReset(), { ...history(20), lines: [line(0, 20)] });
      const before = s.chart.generation;
      const token = s.chart.beginReset();
      expect(s.chart.appendLines(before, [line(21, 25)])).toBe(false);
      s.chart.completeReset(token, { ...history(5), lines: [line(0, 5)] });
      expect(s.chart.appendLines(before, [line(6, 8)])).toBe(false);
      expect(sma.data.at(-1)?.time).toBe(t(5));
    });
  });
});
