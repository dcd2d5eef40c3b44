// The run's price (candles with its fills), equity and drawdown: three panes of one chart, so they share one
// time axis exactly (by time: the equity is snapped onto the candles' times) and one crosshair, with a legend
// of the values at the hovered time. The equity pane also shows buying and holding (a toggle), the drawdown
// periods shaded, the peak and the longest drawdown. Zoomed into a part of the run, the equity and drawdown
// show the visible stretch in finer detail (hooks/use-equity-detail).
import {
  AreaSeries, CandlestickSeries, createSeriesMarkers, HistogramSeries, LineSeries, LineStyle, type IChartApi,
  type ISeriesApi, type ISeriesMarkersPluginApi, type LogicalRange, type MouseEventParams, type Time,
} from "lightweight-charts";
import { useEffect, useEffectEvent, useMemo, useRef, useState } from "react";
import type { CandleColumns } from "@/api/sources/candles";
import type { ChartTimeframe, EquityCurve, Indicators, Order, RunDetail } from "@/api/types";
import { ChartLegend, type LegendContent } from "@/components/charts/chart-legend";
import { COLORS, MONEY_FORMAT } from "@/components/charts/chart-theme";
import {
  fillMarkers, indexAtOrBefore, MARKER_LIMITS, markersInView, toCandles,
} from "@/components/charts/series-data";
import { PositionTimeline, snapToCandles } from "@/components/charts/shared-time";
import { CHART_FOCUS, CHART_KEYS_HINT, useChartKeyboard } from "@/components/charts/chart-keyboard";
import { useChart } from "@/components/charts/use-chart";
import { Card, CardTitle } from "@/components/ui/card";
import { Segmented } from "@/components/ui/segmented";
import { ErrorState, LoadingState, Spinner } from "@/components/ui/states";
import { formatInteger, formatMoney, formatNumber, formatTime } from "@/lib/format";
import { useEquityDetail } from "../hooks/use-equity-detail";
import { useIndicatorSeries } from "../hooks/use-indicator-series";
import { timeframeOptions } from "../utils/chart-timeframes";
import type { TimeSpan } from "../utils/equity-detail";
import { equityOverlays } from "../utils/equity-overlays";

interface Props {
  run: RunDetail;
  /** The whole run's curve, decimated. */
  equity: EquityCurve;
  /** Points the visible stretch is asked for at, once the chart shows only a part of the run. */
  detailPoints: number;
  orders: Order[] | null;
  candles: CandleColumns | undefined;
  candlesLoading: boolean;
  candlesError: unknown;
  onRetryCandles: () => void;
  timeframe: ChartTimeframe;
  onTimeframe: (timeframe: ChartTimeframe) => void;
  /** A stretch of time to bring into view (a selected trade), with some candles either side. */
  focus: { from: number; to: number } | null;
  /** The strategy's own lines (undefined until they arrive, or for a strategy without any). */
  indicators: Indicators | undefined;
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
  equityMarkers: ISeriesMarkersPluginApi<Time>;
  buyAndHold: ISeriesApi<"Line", Time>;
  shade: ISeriesApi<"Histogram", Time>;
  drawdown: ISeriesApi<"Area", Time>;
}

/** Pane heights as shares of the chart: price, equity, drawdown. */
const PANE_STRETCH = [0.58, 0.26, 0.16] as const;

/** The visible time range, also on the root element for the browser tests and anyone inspecting the chart. */
function showRange(root: HTMLElement | null, chart: IChartApi): TimeSpan | null {
  const range = chart.timeScale().getVisibleRange();
  if (root === null || range === null) return null;
  root.dataset.visibleFrom = String(range.from);
  root.dataset.visibleTo = String(range.to);
  return { from: Number(range.from), to: Number(range.to) };
}

/** The fills of one candle, for the legend (what a marker stands for): "buy 0.5 @ 80,000.00". */
function fillsIn(orders: readonly Order[], from: number, to: number): { label: string; value: string }[] {
  const times = orders.map((o) => o.time);
  const first = indexAtOrBefore(times, from - 1) + 1;
  const inside: string[] = [];
  for (let i = first; i < orders.length && (orders[i]?.time ?? Infinity) < to; i += 1) {
    const o = orders[i];
    if (o) inside.push(`${o.side} ${formatNumber(o.quantity, 6)} @ ${formatMoney(o.price)}`);
  }
  if (inside.length === 0) return [];
  const shown = inside.length > 3 ? [...inside.slice(0, 3), `+${inside.length - 3} more`] : inside;
  return [{ label: "Fills", value: shown.join(" · ") }];
}

/** Equity and drawdown (in percent) on the candles' times. */
function drawLines(current: Series, curve: EquityCurve, candleTimes: readonly number[]) {
  current.equity.setData(snapToCandles(curve.time, curve.equity, candleTimes));
  current.drawdown.setData(snapToCandles(curve.time, curve.drawdown, candleTimes, 100));
}

export function RunCharts(props: Props) {
  const { run, equity, orders, candles, timeframe } = props;
  // A year of candles zoomed out puts several in a pixel: conflation draws them as one.
  const [chartRef, chartApi] = useChart({ timeScale: { enableConflation: true } });
  useChartKeyboard(chartRef, chartApi);
  const rootRef = useRef<HTMLDivElement>(null);
  const series = useRef<Series | null>(null);
  const [fillsHidden, setFillsHidden] = useState(false);
  const [legend, setLegend] = useState<LegendContent | null>(null);
  const [showBuyAndHold, setShowBuyAndHold] = useState(true);
  const positions = useMemo(() => new PositionTimeline(orders ?? []), [orders]);
  const [visible, setVisible] = useState<TimeSpan | null>(null);
  // The curve drawn: the whole run's, finer over the visible stretch when zoomed in. The overlays (buy and hold,
  // drawdown periods) stay on the whole curve, so zooming never moves them.
  const lines = useEquityDetail(run, equity, visible, props.detailPoints);
  const latestLines = useEffectEvent(() => lines);

  // Series live as long as the chart; the effects below only replace their points.
  useEffect(() => {
    const chart = chartApi.current;
    if (!chart) return undefined;
    const candleSeries = chart.addSeries(CandlestickSeries, {
      upColor: COLORS.up, downColor: COLORS.down, borderVisible: false, wickUpColor: COLORS.up, wickDownColor: COLORS.down,
      priceFormat: MONEY_FORMAT,
    });
    // The shade of the drawdown periods: full-height bars on a scale of their own, behind the equity.
    const shade = chart.addSeries(HistogramSeries, { priceScaleId: "drawdown-periods", lastValueVisible: false,
      priceLineVisible: false, autoscaleInfoProvider: () => ({ priceRange: { minValue: 0, maxValue: 1 } }) }, 1);
    shade.priceScale().applyOptions({ visible: false, scaleMargins: { top: 0, bottom: 0 } });
    const equitySeries = chart.addSeries(LineSeries, { color: COLORS.equity, lineWidth: 2, priceLineVisible: false,
      title: "Equity", priceFormat: MONEY_FORMAT }, 1);
    const created: Series = {
      candles: candleSeries,
      markers: createSeriesMarkers(candleSeries, []),
      equity: equitySeries,
      equityMarkers: createSeriesMarkers(equitySeries, []),
      buyAndHold: chart.addSeries(LineSeries, { color: COLORS.benchmark, lineWidth: 1, lineStyle: LineStyle.Dashed,
        priceLineVisible: false, title: "Buy and hold", priceFormat: MONEY_FORMAT }, 1),
      shade,
      drawdown: chart.addSeries(AreaSeries, {
        lineColor: COLORS.drawdown, topColor: "rgba(249,115,22,0.05)", bottomColor: "rgba(249,115,22,0.35)",
        lineWidth: 1, priceLineVisible: false, title: "Drawdown",
        priceFormat: { type: "custom", formatter: (v: number) => `${v.toFixed(1)} %` },
      }, 2),
    };
    chart.panes().forEach((pane, i) => pane.setStretchFactor(PANE_STRETCH[i] ?? 0.2));
    series.current = created;
    const onRange = () => setVisible(showRange(rootRef.current, chart));
    chart.timeScale().subscribeVisibleLogicalRangeChange(onRange);
    return () => {
      chart.timeScale().unsubscribeVisibleLogicalRangeChange(onRange);
      series.current = null;
      try {
        chart.removeSeries(created.candles);
        chart.removeSeries(created.equity);
        chart.removeSeries(created.buyAndHold);
        chart.removeSeries(created.shade);
        chart.removeSeries(created.drawdown);
      } catch {
        // the chart was removed first (the component is going away): its series went with it
      }
    };
  }, [chartApi]);

  // Candles, and the equity and drawdown on the candles' times. A new timeframe keeps the time range in view.
  const shown = useRef(false);
  useEffect(() => {
    const chart = chartApi.current;
    const current = series.current;
    if (!current || !chart) return undefined;
    const candleTimes = candles?.time ?? equity.time;
    const kept = shown.current ? chart.timeScale().getVisibleRange() : null;
    if (candles) current.candles.setData(toCandles(candles));
    // The lines too, before the time range is restored: on the new candles' times, they keep the axis linear.
    drawLines(current, latestLines(), candleTimes);
    if (!candles) return undefined;
    const extras = equityOverlays(equity, run.cash, candles);
    current.buyAndHold.setData(extras.buyAndHold);
    current.shade.setData(extras.shading);
    current.equityMarkers.setMarkers(extras.markers);
    // What the equity pane marks, for the browser tests and anyone inspecting the chart.
    rootRef.current?.setAttribute("data-shaded-candles", String(extras.shading.length));
    rootRef.current?.setAttribute("data-longest-drawdown", String(extras.longest?.duration ?? 0));
    // Thousands of fills are legible only zoomed in: they are drawn for the candles on screen once few are, so
    // a run with many opens on its latest candles, fills readable (0 on the chart, or the wheel, shows it all).
    const markers = orders ? fillMarkers(orders, candles.time, candles.bucketSeconds) : [];
    if (kept) chart.timeScale().setVisibleRange(kept);
    else if (markers.length > MARKER_LIMITS.showAllUpTo) {
      const n = candles.time.length;
      chart.timeScale().setVisibleLogicalRange({ from: n - MARKER_LIMITS.zoomedCandles * 0.75, to: n + 2 });
    } else chart.timeScale().fitContent();
    shown.current = true;
    showRange(rootRef.current, chart);
    const showMarkers = (range: LogicalRange | null) => {
      const inView = markersInView(markers, candles.time, range);
      current.markers.setMarkers(inView ?? []);
      setFillsHidden(inView === null);
    };
    showMarkers(chart.timeScale().getVisibleLogicalRange());
    chart.timeScale().subscribeVisibleLogicalRangeChange(showMarkers);
    markDrawn(rootRef.current);
    return () => chart.timeScale().unsubscribeVisibleLogicalRangeChange(showMarkers);
  }, [candles, equity, orders, run.cash, chartApi]);

  // Finer detail arriving for the visible stretch: its points sit on candles already there, so the view stays.
  useEffect(() => {
    if (series.current) drawLines(series.current, lines, candles?.time ?? equity.time);
  }, [lines, candles, equity.time]);

  useEffect(() => {
    series.current?.buyAndHold.applyOptions({ visible: showBuyAndHold });
  }, [showBuyAndHold]);

  // After the candles: its lines sit on the candles' times, so adding them never moves the time range kept.
  const indicatorLegend = useIndicatorSeries(chartApi, candles, props.indicators);

  // A selected trade: its entry to its exit in view, with as much again around it (at least 20 candles), and
  // the chart scrolled onto the screen.
  useEffect(() => {
    const chart = chartApi.current;
    if (!chart || !candles || props.focus === null) return;
    const { from, to } = props.focus;
    const pad = Math.max((to - from) / 2, 20 * candles.bucketSeconds);
    chart.timeScale().setVisibleRange({ from: (from - pad) as Time, to: (to + pad) as Time });
    rootRef.current?.scrollIntoView({ behavior: "smooth", block: "start" });
  }, [props.focus, candles, chartApi]);

  // The legend follows the crosshair; away from the chart it shows the last bar.
  useEffect(() => {
    const chart = chartApi.current;
    const current = series.current;
    if (!chart || !current || !candles) return undefined;
    // The equity and drawdown at a time: their points sit on some candles only (the curve is decimated), so
    // the value shown is the latest at or before the hovered candle.
    const equityLine = snapToCandles(lines.time, lines.equity, candles.time);
    const drawdownLine = snapToCandles(lines.time, lines.drawdown, candles.time, 100);
    const lineTimes = equityLine.map((p) => p.time);
    const describe = (param: MouseEventParams | null) => {
      const lastTime = candles.time.at(-1);
      const time = typeof param?.time === "number" ? param.time : lastTime;
      if (time === undefined) return;
      const index = indexAtOrBefore(candles.time, time);
      const at = indexAtOrBefore(lineTimes, time);
      const drawdownAt = drawdownLine[at]?.value;
      setLegend({
        time: formatTime(time, candles.bucketSeconds >= 86_400),
        items: [
          { label: "O", value: formatMoney(candles.open[index]) },
          { label: "H", value: formatMoney(candles.high[index]) },
          { label: "L", value: formatMoney(candles.low[index]) },
          { label: "C", value: formatMoney(candles.close[index]) },
          { label: "Vol", value: formatNumber(candles.volume[index], 2) },
          { label: "Equity", value: formatMoney(equityLine[at]?.value), color: COLORS.equity },
          ...(showBuyAndHold ? [{ label: "Buy and hold", color: COLORS.benchmark,
            value: formatMoney(candles.close[index] === undefined || candles.close[0] === undefined
              ? null : (run.cash * candles.close[index]) / candles.close[0]) }] : []),
          { label: "Drawdown", value: drawdownAt === undefined ? "—" : `${drawdownAt.toFixed(2)} %`, color: COLORS.drawdown },
          { label: "Position", value: formatNumber(positions.at(time + candles.bucketSeconds - 1), 6) },
          ...indicatorLegend.at(time),
          ...fillsIn(orders ?? [], time, time + candles.bucketSeconds),
        ],
      });
    };
    describe(null);
    chart.subscribeCrosshairMove(describe);
    return () => chart.unsubscribeCrosshairMove(describe);
  }, [candles, lines, positions, orders, run.cash, showBuyAndHold, indicatorLegend, chartApi]);

  return (
    <div ref={rootRef} data-testid="run-charts" className="flex flex-col gap-4">
      <Card>
        <CardTitle actions={
          <div className="flex items-center gap-3">
            {props.candlesLoading && <Spinner label="Loading candles" />}
            <label className="flex items-center gap-1.5 text-xs text-slate-300">
              <input type="checkbox" checked={showBuyAndHold} onChange={(e) => setShowBuyAndHold(e.target.checked)}
                className="accent-slate-400" />
              Buy and hold
            </label>
            <Segmented label="Candle timeframe" name="timeframe" value={timeframe} options={timeframeOptions(run)}
              onChange={props.onTimeframe} />
          </div>
        }>
          Price, equity and drawdown · {run.symbol}
          {candles && (
            <span className="ml-2 text-xs font-normal text-slate-400" data-testid="candle-count">
              {formatInteger(candles.time.length)} candles from {formatInteger(candles.sourcePoints)} bars
            </span>
          )}
          {fillsHidden && (
            <span className="ml-2 text-xs font-normal text-amber-300" data-testid="fills-hint">
              · zoom in (scroll on the chart, or + with the chart focused) to see the fills
            </span>
          )}
        </CardTitle>
        <div className="relative">
          <div ref={chartRef} {...CHART_FOCUS} data-testid="run-chart" className="h-[clamp(440px,72vh,900px)] w-full focus-visible:outline-2 focus-visible:outline-sky-400" role="img"
            aria-label={`Price of ${run.symbol} with the run's fills, the run's equity and its drawdown in percent, on one time axis. ${CHART_KEYS_HINT}`} />
          <ChartLegend content={legend} />
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
    </div>
  );
}
