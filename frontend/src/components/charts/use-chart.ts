// A lightweight-charts chart owned by a React component: created in an effect on the container element and
// removed on cleanup, so nothing outlives the component (no canvas, no listener, no resize observer).
//
// The component's own effects, declared after this hook, run after it and find the chart in `chartRef`.
//
// The container also carries the chart (`hewstonChart`): the browser tests read positions and points from the
// chart itself (where a bar is drawn, which points a series holds), as a person reads them off the screen,
// instead of guessing them from the DOM.
import { createChart, type ChartOptions, type DeepPartial, type IChartApi } from "lightweight-charts";
import { useEffect, useRef, type RefObject } from "react";
import { chartOptions } from "./chart-theme";

/** A chart's container element, holding the chart while it lives. */
export interface ChartHost extends HTMLElement {
  hewstonChart?: IChartApi;
}

export function useChart(options: DeepPartial<ChartOptions> = {}): [
  RefObject<HTMLDivElement | null>,
  RefObject<IChartApi | null>,
] {
  const containerRef = useRef<HTMLDivElement | null>(null);
  const chartRef = useRef<IChartApi | null>(null);
  // A chart is configured once; later changes go through applyOptions.
  const initial = useRef(options);

  useEffect(() => {
    const element = containerRef.current;
    if (element === null) return undefined;
    const chart = createChart(element, chartOptions(initial.current));
    chartRef.current = chart;
    (element as ChartHost).hewstonChart = chart;
    return () => {
      chartRef.current = null;
      delete (element as ChartHost).hewstonChart;
      chart.remove();
    };
  }, []);

  return [containerRef, chartRef];
}
