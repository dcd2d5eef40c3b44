// Keeps stacked charts on one time axis: whatever range the chart a person is using shows, the others show.
//
// Only the chart under the pointer (or the first, before anyone touched a chart) drives: charts with
// different data snap a range to their own bars, and letting every chart drive would bounce slightly
// different ranges back and forth.
import type { IChartApi, IRange, Time } from "lightweight-charts";

export interface SyncedChart {
  chart: IChartApi;
  element: HTMLElement;
}

export function syncTimeScales(charts: readonly SyncedChart[]): () => void {
  let driver: IChartApi | undefined = charts[0]?.chart;
  const cleanups: (() => void)[] = [];

  for (const { chart, element } of charts) {
    const drive = () => {
      driver = chart;
    };
    for (const event of ["pointerdown", "pointerenter", "wheel", "touchstart", "focusin"] as const) {
      element.addEventListener(event, drive, { passive: true });
      cleanups.push(() => element.removeEventListener(event, drive));
    }
    const follow = (range: IRange<Time> | null) => {
      if (chart !== driver || range === null) return;
      for (const other of charts) {
        if (other.chart === chart) continue;
        try {
          other.chart.timeScale().setVisibleRange(range);
        } catch {
          // a chart without data yet has no range to set; it follows the next change
        }
      }
    };
    chart.timeScale().subscribeVisibleTimeRangeChange(follow);
    cleanups.push(() => chart.timeScale().unsubscribeVisibleTimeRangeChange(follow));
  }
  return () => {
    for (const cleanup of cleanups) cleanup();
  };
}

