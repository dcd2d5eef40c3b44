// Candles with fills and the equity line, built up live from the stream: two panes of one chart, on one time
// axis and under one crosshair, with a legend of the values at the hovered bar. On every reset the history up to
// the cursor is loaded from REST (chart data, on the charts' data path) and set once; frames are then applied
// once per paint. The equity pane covers the candles' stretch, its history snapped onto the candles' times.
// The strategy's lines (moving averages or bands over the price, an oscillator in a pane of its own) follow the
// bars played: loaded with the history up to the cursor, then in chunks up to the newest bar, never further.
import { useQueryClient } from "@tanstack/react-query";
import {
  CandlestickSeries, createSeriesMarkers, LineSeries, MismatchDirection, type CandlestickData, type ISeriesApi, type LogicalRange,
  type MouseEventParams, type Time,
} from "lightweight-charts";
import { useEffect, useEffectEvent, useMemo, useRef, useState } from "react";
import { candlesQueryKey, fetchCandles } from "@/api/sources/candles";
import { unwrap } from "@/api/client";
import type { EquityCurve, Indicators, Order, RunDetail } from "@/api/types";
import { ChartLegend, type LegendContent, type LegendItem } from "@/components/charts/chart-legend";
import { addIndicatorSeries, removeIndicatorSeries, type IndicatorSeries } from "@/components/charts/indicator-series";
import { COLORS, MONEY_FORMAT } from "@/components/charts/chart-theme";
import { PositionTimeline, snapToCandles } from "@/components/charts/shared-time";
import { indexAtOrBefore } from "@/components/charts/series-data";
import { CHART_FOCUS, CHART_KEYS_HINT, useChartKeyboard } from "@/components/charts/chart-keyboard";
import { useChart } from "@/components/charts/use-chart";
import { Card, CardTitle } from "@/components/ui/card";
import { Spinner } from "@/components/ui/states";
import { formatMoney, formatNumber, formatTime } from "@/lib/format";
import { describeError } from "@/api/errors";
import { useApiClient } from "@/lib/app-config";
import type { PlaybackConnection } from "../api/protocol";
import { historyWindow, lastColumns } from "../utils/history-window";
import { DEFAULT_LIMITS, LiveChart, nextAnimationFrame, type History } from "../utils/live-chart";

/** How long the chart holds its draws after a key or pointer press (a control's round trip is a few ms). */
const INPUT_PRIORITY_MS = 200;
/** How often the strategy's lines catch up with the bars played (one request for every bar since the last). */
const LINE_CATCH_UP_MS = 1_000;
/** The oscillator's pane, under price and equity. */
const OWN_PANE = 2;

interface Props {
  connection: PlaybackConnection;
  run: RunDetail;
  equity: EquityCurve;
  orders: Order[];
  historyBars: number;
  /** The cursor time when the panel opens mid-playback (null: before the first bar); undefined: not known yet. */
  startAt: number | null | undefined;
  /** Shown over the empty chart before the first bar (what to do to start). */
  emptyHint: string | null;
  /** A click on the price chart goes to the clicked bar's time (null: this viewer may not seek). */
  onSeekTime: ((time: number) => void) | null;
}

export function LiveChartPanel({ connection, run, equity, orders, historyBars, startAt, emptyHint, onSeekTime }: Props) {
  // Zoomed out over thousands of candles, several share a pixel: conflation draws them as one.
  const [chartRef, chartApi] = useChart({ timeScale: { enableConflation: true } });
  useChartKeyboard(chartRef, chartApi);
  const [legend, setLegend] = useState<LegendContent | null>(null);
  const rootRef = useRef<HTMLDivElement>(null);
  const queryClient = useQueryClient();
  const { client, path } = useApiClient("charts");
  const [loading, setLoading] = useState(false);
  const [historyError, setHistoryError] = useState<string | null>(null);

  // History up to the cursor: the last `historyBars` bars at the run's resolution, with the equity and fills
  // of the same stretch. Reads the latest props without restarting the subscription below.
  const loadHistory = useEffectEvent(async (cursorTime: number | null): Promise<History | null> => {
    if (cursorTime === null) return null; // before the first bar there is no history
    const window = historyWindow(run, cursorTime, historyBars);
    const request = { symbol: run.symbol, timeframe: window.timeframe, from: window.from, to: window.to,
      targetPoints: historyBars };
    const columns = await queryClient.fetchQuery({
      queryKey: candlesQueryKey(path, request),
      queryFn: ({ signal }) => fetchCandles(client, path, request, signal),
      staleTime: Infinity,
    });
    const kept = lastColumns({ time: columns.time, open: columns.open, high: columns.high, low: columns.low,
      close: columns.close }, historyBars);
    const first = kept.time[0] ?? cursorTime;
    // The curve is in time order: the stretch up to the cursor, on the candles' times.
    const upToCursor = indexAtOrBefore(equity.time, cursorTime) + 1;
    const line = snapToCandles(equity.time.slice(0, upToCursor), equity.equity.slice(0, upToCursor), kept.time);
    return {
      candles: kept,
      equity: { time: line.map((p) => p.time), equity: line.map((p) => p.value) },
      fills: orders.filter((o) => o.time >= first && o.time <= cursorTime),
    };
  });
  // The strategy's lines over a stretch of bars already played (the backend never sends later ones).
  const loadLines = useEffectEvent((from: number, to: number): Promise<Indicators> =>
    unwrap(client.GET("/api/v1/backtests/{run_id}/indicators", {
      params: { path: { run_id: run.id }, query: { from: String(from), to: String(to) } } })));
  // The lines' stretch for a reset: the history's window (before the first bar: nothing yet, just the lines' names).
  const linesWindow = useEffectEvent((cursorTime: number | null) => cursorTime === null
    ? { from: run.from_time - 1, to: run.from_time - 1 }
    : { from: historyWindow(run, cursorTime, historyBars).from, to: cursorTime });
  const initialCursor = useEffectEvent(() => startAt);
  const positions = useMemo(() => new PositionTimeline(orders), [orders]);
  const positionAt = useEffectEvent(() => positions);
  const seekTo = useEffectEvent((time: number) => onSeekTime?.(time));

  useEffect(() => {
    const root = rootRef.current;
    const chart = chartApi.current;
    if (!chart || !root) return undefined;
    const candles = chart.addSeries(CandlestickSeries, {
      upColor: COLORS.up, downColor: COLORS.down, borderVisible: false, wickUpColor: COLORS.up, wickDownColor: COLORS.down,
      priceFormat: MONEY_FORMAT,
    });
    const line = chart.addSeries(LineSeries, { color: COLORS.equity, lineWidth: 2, priceLineVisible: false,
      title: "Equity", priceFormat: MONEY_FORMAT }, 1);
    chart.panes()[0]?.setStretchFactor(0.72);
    chart.panes()[1]?.setStretchFactor(0.28);
    // The fills' own series: invisible, left out of the price scale, carrying the markers at the fill prices.
    const fills = chart.addSeries(LineSeries, {
      lineVisible: false, pointMarkersVisible: false, lastValueVisible: false, priceLineVisible: false,
      crosshairMarkerVisible: false, autoscaleInfoProvider: () => null,
    });
    // Off the chart, the legend follows the newest bar as frames are drawn.
    let hovering = false;
    // The strategy's lines, once the first answer has named them; the time they are loaded up to.
    let lines: IndicatorSeries[] | null = null;
    let linesTo: number | null = null;
    // Read by the browser tests and `make bench`: frames received and drawn, candles held, candles on screen.
    const showCounters = () => {
      if (!hovering) setLegend(legendAt(null, candles, line, positionAt(), lines ?? []));
      root.dataset.framesReceived = String(live.framesReceived);
      root.dataset.framesApplied = String(live.framesApplied);
      root.dataset.candles = String(live.candleCount);
    };
    const live = new LiveChart({ candles, equity: line, fills, markers: createSeriesMarkers(fills, []) },
      DEFAULT_LIMITS, nextAnimationFrame, showCounters);
    let disposed = false;
    // A person's input comes first: the chart holds its next draw while a control's answer is on its way.
    const yieldToInput = () => live.yieldTo(INPUT_PRIORITY_MS);
    document.addEventListener("pointerdown", yieldToInput, { capture: true, passive: true });
    document.addEventListener("keydown", yieldToInput, { capture: true, passive: true });

    const showVisible = (range: LogicalRange | null) => {
      root.dataset.visibleCandles = range === null ? "0" : String(Math.round(range.to - range.from));
    };
    chart.timeScale().subscribeVisibleLogicalRangeChange(showVisible);
    // A click (not a drag) on a bar seeks there, for a viewer who controls the playback.
    const onClick = (param: MouseEventParams) => {
      if (typeof param.time === "number") seekTo(param.time);
    };
    chart.subscribeClick(onClick);
    const describe = (param: MouseEventParams | null) => {
      hovering = param !== null && param.time !== undefined;
      setLegend(legendAt(param, candles, line, positionAt(), lines ?? []));
    };
    chart.subscribeCrosshairMove(describe);
    const reset = (cursorTime: number | null) => {
      const token = live.beginReset();
      linesTo = null;
      setLoading(true);
      const stretch = linesWindow(cursorTime);
      // Without its lines the chart still plays: a failure there only leaves them out.
      Promise.all([loadHistory(cursorTime), loadLines(stretch.from, stretch.to).catch(() => null)])
        .then(([history, indicators]) => {
          if (disposed) return;
          setHistoryError(null);
          if (indicators && lines === null) {
            lines = addIndicatorSeries(chart, indicators.lines, indicators.levels, OWN_PANE);
            live.attachLines(lines.map((l) => l.series));
          }
          // Only from the first candle held: a point before it would add a time of its own to the axis.
          const first = history?.candles.time[0] ?? Number.POSITIVE_INFINITY;
          const held = indicators?.lines.map((l) => {
            const from = l.time.findIndex((t) => t >= first);
            return from < 0 ? { time: [], values: [] } : { time: l.time.slice(from), values: l.values.slice(from) };
          });
          live.completeReset(token, history && { ...history, lines: held });
          if (indicators) linesTo = stretch.to;
        })
        .catch((error: unknown) => {
          if (disposed) return;
          setHistoryError(describeError(error));
          live.completeReset(token, null);
        })
        .finally(() => {
          if (disposed) return;
          setLoading(false);
          chart.timeScale().scrollToRealTime();
          showCounters();
        });
    };

    // Opened mid-playback (another history length): start from where the view is; else wait for a snapshot.
    const start = initialCursor();
    if (start !== undefined) reset(start);
    // The lines catch up with the bars played, one request at a time, for the bars since the last.
    let catchingUp = false;
    const catchUp = window.setInterval(() => {
      const last = live.lastCandleTime;
      if (catchingUp || !lines?.length || linesTo === null || last === null || last <= linesTo) return;
      catchingUp = true;
      const generation = live.generation;
      loadLines(linesTo + 1, last)
        .then((indicators) => {
          if (!disposed && live.appendLines(generation, indicators.lines)) linesTo = last;
        })
        .catch(() => undefined) // tried again at the next tick
        .finally(() => {
          catchingUp = false;
        });
    }, LINE_CATCH_UP_MS);
    const unsubscribe = connection.subscribe((event) => {
      if (event.type === "snapshot" && (event.reset || live.lastCandleTime === null)) {
        reset(event.snapshot.time);
      } else if (event.type === "frame") {
        live.append(event.frame);
      }
    });
    return () => {
      disposed = true;
      window.clearInterval(catchUp);
      document.removeEventListener("pointerdown", yieldToInput, { capture: true });
      document.removeEventListener("keydown", yieldToInput, { capture: true });
      unsubscribe();
      live.dispose();
      chart.timeScale().unsubscribeVisibleLogicalRangeChange(showVisible);
      chart.unsubscribeClick(onClick);
      chart.unsubscribeCrosshairMove(describe);
      try {
        chart.removeSeries(candles);
        chart.removeSeries(fills);
        chart.removeSeries(line);
      } catch {
        // the charts were removed first (the component is going away): their series went with them
      }
      removeIndicatorSeries(chart, lines ?? []);
    };
  }, [connection, chartApi]);

  return (
    <div ref={rootRef} data-testid="live-chart" className="flex flex-col gap-4">
      <Card>
        <CardTitle actions={loading ? <Spinner label="Loading history" /> : null}>Price and equity · {run.symbol}</CardTitle>
        {historyError && (
          <p role="alert" className="px-4 py-1 text-sm text-amber-300">
            History before the cursor could not be loaded ({historyError}); new bars still arrive.
          </p>
        )}
        <div className="relative">
          <div ref={chartRef} {...CHART_FOCUS} data-testid="playback-price-chart" role="img"
            aria-label={`Price of ${run.symbol} and the run's equity up to the playback cursor, on one time axis. ${CHART_KEYS_HINT}`}
            className={`h-[clamp(360px,58vh,760px)] w-full focus-visible:outline-2 focus-visible:outline-sky-400 ${onSeekTime ? "cursor-pointer" : ""}`} />
          <ChartLegend content={legend} />
          {emptyHint && (
            <p data-testid="empty-chart-hint"
              className="pointer-events-none absolute inset-0 flex items-center justify-center p-6 text-center text-sm text-slate-300">
              {emptyHint}
            </p>
          )}
        </div>
      </Card>
    </div>
  );
}

/** The legend at the hovered bar, or at the last bar when the pointer is off the chart. */
function legendAt(param: MouseEventParams | null, candles: ISeriesApi<"Candlestick", Time>,
  line: ISeriesApi<"Line", Time>, positions: PositionTimeline, lines: readonly IndicatorSeries[]): LegendContent | null {
  const hovered = param !== null && param.time !== undefined;
  // Off the chart: the newest candle's time (the candles hold every time of the axis, so their last index is
  // the axis's), and each line's latest point at or before it (a line may start later or hold fewer points).
  const last = candles.data().length - 1;
  const latest = (series: ISeriesApi<"Line", Time>) => series.dataByIndex(last, MismatchDirection.NearestLeft);
  const bar = (hovered ? param.seriesData.get(candles) : candles.dataByIndex(last)) as CandlestickData<Time> | undefined;
  const point = hovered ? param.seriesData.get(line) : latest(line);
  if (!bar || typeof bar.time !== "number") return null;
  const equityValue = point && "value" in point ? Number(point.value) : null;
  return {
    time: formatTime(bar.time),
    items: [
      { label: "O", value: formatMoney(bar.open) },
      { label: "H", value: formatMoney(bar.high) },
      { label: "L", value: formatMoney(bar.low) },
      { label: "C", value: formatMoney(bar.close) },
      { label: "Equity", value: formatMoney(equityValue), color: COLORS.equity },
      { label: "Position", value: formatNumber(positions.at(bar.time), 6) },
      ...lines.map((l): LegendItem => {
        const point = hovered ? param.seriesData.get(l.series) : latest(l.series);
        const value = point && "value" in point ? Number(point.value) : null;
        return { label: l.label, color: l.color, value: l.pane === "price" ? formatMoney(value) : formatNumber(value, 1) };
      }),
    ],
  };
}
