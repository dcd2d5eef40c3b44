// The strategy's own lines on the run's chart: moving averages and bands over the candles, an oscillator in a
// pane of its own under the drawdown with its reference levels; snapped onto the candles' times like the
// equity, so they share the one time axis. The legend reads each line's value at the hovered time.
import {
  LineSeries, LineStyle, type IChartApi, type ISeriesApi, type LineData, type Time, type UTCTimestamp,
} from "lightweight-charts";
import { useEffect, useMemo, type RefObject } from "react";
import type { CandleColumns } from "@/api/sources/candles";
import type { Indicators } from "@/api/types";
import type { LegendItem } from "@/components/charts/chart-legend";
import { MONEY_FORMAT } from "@/components/charts/chart-theme";
import { indexAtOrBefore } from "@/components/charts/series-data";
import { snapToCandles } from "@/components/charts/shared-time";
import { formatMoney, formatNumber } from "@/lib/format";

const LINE_COLORS = ["#facc15", "#c084fc", "#2dd4bf", "#fb7185"] as const;
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
      return { label: line.label, pane: line.pane, color: LINE_COLORS[i % LINE_COLORS.length] ?? LINE_COLORS[0], points,
        times: points.map((p) => p.time) };
    });
  }, [candles, indicators]);

  useEffect(() => {
    const chart = chartRef.current;
    if (!chart || lines.length === 0) return undefined;
    const created: ISeriesApi<"Line", Time>[] = lines.map((line) => {
      const series = chart.addSeries(LineSeries, {
        color: line.color, lineWidth: 1, priceLineVisible: false, lastValueVisible: false, crosshairMarkerVisible: false,
        title: line.label, ...(line.pane === "price" ? { priceFormat: MONEY_FORMAT } : {}),
      }, line.pane === "price" ? 0 : OWN_PANE);
      series.setData(line.points);
      return series;
    });
    const own = created.find((_, i) => lines[i]?.pane === "own");
    for (const level of indicators?.levels ?? []) {
      own?.createPriceLine({ price: level, color: "#64748b", lineStyle: LineStyle.Dashed, lineWidth: 1, axisLabelVisible: true,
        title: "" });
    }
    if (own) chart.panes()[OWN_PANE]?.setStretchFactor(0.16);
    return () => {
      try {
        for (const series of created) chart.removeSeries(series);
      } catch {
        // the chart was removed first (the component is going away): its series went with it
      }
    };
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
