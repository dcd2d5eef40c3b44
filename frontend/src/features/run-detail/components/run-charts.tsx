// The run's price (candles with its fills), equity and drawdown, stacked on one time axis.
import {
  AreaSeries, CandlestickSeries, createSeriesMarkers, LineSeries, type ISeriesApi, type ISeriesMarkersPluginApi,
  type LogicalRange, type Time,
} from "lightweight-charts";
import { useEffect, useRef, useState } from "react";
import type { CandleColumns } from "@/api/sources/candles";
import type { ChartTimeframe, EquityCurve, Order, RunDetail } from "@/api/types";
import { COLORS } from "@/components/charts/chart-theme";
import { fillMarkers, markersInView, toCandles, toLine } from "@/components/charts/series-data";
import { syncTimeScales } from "@/components/charts/time-scale-sync";
import { useChart } from "@/components/charts/use-chart";
import { Card, CardTitle } from "@/components/ui/card";
import { Segmented } from "@/components/ui/segmented";
import { ErrorState, LoadingState, Spinner } from "@/components/ui/states";
import { formatInteger } from "@/lib/format";
import { timeframeOptions } from "../utils/chart-timeframes";

interface Props {
  run: RunDetail;
  equity: EquityCurve;
  orders: Order[] | null;
  candles: CandleColumns | undefined;
  candlesLoading: boolean;
  candlesError: unknown;
  onRetryCandles: () => void;
  timeframe: ChartTimeframe;
  onTimeframe: (timeframe: ChartTimeframe) => void;
}

/** Marks the page as drawn once candles and equity are on their charts (read by tests and `make bench`). */
function markDrawn(element: HTMLElement | null) {
  requestAnimationFrame(() => {
    if (element === null || element.dataset.drawn === "true") return;
    element.dataset.drawn = "true";
    performance.mark("hewston:run-detail-drawn");
  });
}

interface Series {
  candles: ISeriesApi<"Candlestick", Time>;
  markers: ISeriesMarkersPluginApi<Time>;
  equity: ISeriesApi<"Line", Time>;
  drawdown: ISeriesApi<"Area", Time>;
}

export function RunCharts(props: Props) {
  const { run, equity, orders, candles, timeframe } = props;
  // A year of candles zoomed out puts several in a pixel: conflation draws them as one.
  const [priceRef, priceChart] = useChart({ timeScale: { enableConflation: true } });
  const [equityRef, equityChart] = useChart();
  const [drawdownRef, drawdownChart] = useChart();
  const rootRef = useRef<HTMLDivElement>(null);
  const series = useRef<Series | null>(null);
  const [fillsHidden, setFillsHidden] = useState(false);

  // Series live as long as their charts; the effects below only replace their points.
  useEffect(() => {
    const [priceApi, equityApi, drawdownApi] = [priceChart.current, equityChart.current, drawdownChart.current];
    if (!priceApi || !equityApi || !drawdownApi) return undefined;
    const candleSeries = priceApi.addSeries(CandlestickSeries, {
      upColor: COLORS.up, downColor: COLORS.down, borderVisible: false, wickUpColor: COLORS.up, wickDownColor: COLORS.down,
    });
    const created: Series = {
      candles: candleSeries,
      markers: createSeriesMarkers(candleSeries, []),
      equity: equityApi.addSeries(LineSeries, { color: COLORS.equity, lineWidth: 2, priceLineVisible: false }),
      drawdown: drawdownApi.addSeries(AreaSeries, {
        lineColor: COLORS.drawdown, topColor: "rgba(249,115,22,0.05)", bottomColor: "rgba(249,115,22,0.35)",
        lineWidth: 1, priceLineVisible: false, priceFormat: { type: "custom", formatter: (v: number) => `${v.toFixed(1)} %` },
      }),
    };
    series.current = created;
    const unsync = syncTimeScales([
      { chart: priceApi, element: priceRef.current ?? document.body },
      { chart: equityApi, element: equityRef.current ?? document.body },
      { chart: drawdownApi, element: drawdownRef.current ?? document.body },
    ]);
    return () => {
      unsync();
      series.current = null;
      try {
        priceApi.removeSeries(created.candles);
        equityApi.removeSeries(created.equity);
        drawdownApi.removeSeries(created.drawdown);
      } catch {
        // the charts were removed first (the component is going away): their series went with them
      }
    };
  }, [priceChart, equityChart, drawdownChart, priceRef, equityRef, drawdownRef]);

  useEffect(() => {
    if (!series.current) return;
    series.current.equity.setData(toLine(equity.time, equity.equity));
    series.current.drawdown.setData(toLine(equity.time, equity.drawdown, 100));
    equityChart.current?.timeScale().fitContent();
    drawdownChart.current?.timeScale().fitContent();
  }, [equity, equityChart, drawdownChart]);

  useEffect(() => {
    const chart = priceChart.current;
    const current = series.current;
    if (!current || !chart || !candles) return undefined;
    current.candles.setData(toCandles(candles));
    // Thousands of fills are legible only zoomed in: they are drawn for the candles on screen once few are.
    const markers = orders ? fillMarkers(orders, candles.time, candles.bucketSeconds) : [];
    const showMarkers = (range: LogicalRange | null) => {
      const shown = markersInView(markers, candles.time, range);
      current.markers.setMarkers(shown ?? []);
      setFillsHidden(shown === null);
    };
    chart.timeScale().fitContent();
    showMarkers(chart.timeScale().getVisibleLogicalRange());
    chart.timeScale().subscribeVisibleLogicalRangeChange(showMarkers);
    markDrawn(rootRef.current);
    return () => chart.timeScale().unsubscribeVisibleLogicalRangeChange(showMarkers);
  }, [candles, orders, priceChart]);

  return (
    <div ref={rootRef} data-testid="run-charts" className="flex flex-col gap-4">
      <Card>
        <CardTitle actions={
          <div className="flex items-center gap-3">
            {props.candlesLoading && <Spinner label="Loading candles" />}
            <Segmented label="Candle timeframe" name="timeframe" value={timeframe} options={timeframeOptions(run)}
              onChange={props.onTimeframe} />
          </div>
        }>
          Price · {run.symbol}
          {candles && (
            <span className="ml-2 text-xs font-normal text-slate-500" data-testid="candle-count">
              {formatInteger(candles.time.length)} candles from {formatInteger(candles.sourcePoints)} bars
            </span>
          )}
          {fillsHidden && (
            <span className="ml-2 text-xs font-normal text-amber-300/80" data-testid="fills-hint">
              · zoom in (scroll on the chart) to see the fills
            </span>
          )}
        </CardTitle>
        <div className="relative">
          <div ref={priceRef} data-testid="price-chart" className="h-[clamp(280px,45vh,620px)] w-full"
            aria-label={`Price of ${run.symbol} with the run's fills`} role="img" />
          {!candles && props.candlesError === null && (
            <div className="absolute inset-0"><LoadingState label="Loading candles…" /></div>
          )}
          {props.candlesError !== null && (
            <div className="absolute inset-0 bg-slate-950/80">
              <ErrorState title="Candles could not be loaded" error={props.candlesError} onRetry={props.onRetryCandles} />
            </div>
          )}
        </div>
      </Card>
      <Card>
        <CardTitle>Equity</CardTitle>
        <div ref={equityRef} data-testid="equity-chart" className="h-40 w-full" role="img"
          aria-label="Equity of the run over time" />
        <CardTitle>Drawdown</CardTitle>
        <div ref={drawdownRef} data-testid="drawdown-chart" className="h-28 w-full" role="img"
          aria-label="Drawdown of the run over time, in percent" />
      </Card>
    </div>
  );
}
