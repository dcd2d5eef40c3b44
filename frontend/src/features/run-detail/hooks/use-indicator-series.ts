// The strategy's own lines on the run's chart: moving averages and bands over the candles, an oscillator in a
// pane of its own under the drawdown with its reference levels; snapped onto the candles' times like the
// equity, so they share the one time axis. The legend reads each line's value at the hovered time.
import type { IChartApi, LineData, UTCTimestamp } from "lightweight-charts";
import { useEffect, useMemo, type RefObject } from "react";
import type { CandleColumns } from "@/api/sources/candles";
import type { Indicators } from "@/api/types";
import type { LegendItem } from "@/components/charts/chart-legend";
import { addIndicatorSeries, indicatorColor, removeIndicatorSeries } from "@/components/charts/indicator-series";
import { indexAtOrBefore } from "@/components/charts/series-data";
import { snapToCandles } from "@/components/charts/shared-time";
import { formatMoney, formatNumber } from "@/lib/format";

/** The panes before an oscillator's own: price, equity, drawdown. */
const OWN_PANE = 3;

interface Snapped {
  label: string;
  pane: "price" | "own";
  color: string;
  points: LineData<UTCTimestamp>[];
  times: number[];
}

export interface IndicatorLegend {
  /** Legend items for the lines at `time` (the latest point at or before it). */
  at(time: number): LegendItem[];
}

export function useIndicatorSeries(chartRef: RefObject<IChartApi | null>, candles: CandleColumns | undefined,
  indicators: Indicators | undefined): IndicatorLegend {
  const lines = useMemo<Snapped[]>(() => {
    if (!candles || !indicators) return [];
    return indicators.lines.map((line, i) => {
      const points = snapToCandles(line.time, line.values, candles.time);
      return { label: line.label, pane: line.pane, color: indicatorColor(i), points, times: points.map((p) => p.time) };
    });
  }, [candles, indicators]);

  useEffect(() => {
    const chart = chartRef.current;
    if (!chart || lines.length === 0) return undefined;
    const created = addIndicatorSeries(chart, lines, indicators?.levels ?? [], OWN_PANE);
    created.forEach((line, i) => line.series.setData(lines[i]?.points ?? []));
    return () => removeIndicatorSeries(chart, created);
  }, [chartRef, lines, indicators]);

  return useMemo(() => ({
    at(time: number): LegendItem[] {
      return lines.map((line) => {
        const point = line.points[indexAtOrBefore(line.times, time)];
        const value = point?.value;
        return { label: line.label, color: line.color,
          value: line.pane === "price" ? formatMoney(value) : formatNumber(value, 1) };
      });
    },
  }), [lines]);
}
