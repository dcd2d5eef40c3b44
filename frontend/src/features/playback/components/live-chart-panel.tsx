// Candles with fills and the equity line, built up live from the stream. On every reset the history up to the
// cursor is loaded from REST (chart data, on the charts' data path) and set once; frames then only append.
// The equity pane shows the run from its start (the decimated curve) so the stretch played reads in context.
import { useQueryClient } from "@tanstack/react-query";
import {
  CandlestickSeries, createSeriesMarkers, LineSeries, type LogicalRange, type MouseEventParams,
} from "lightweight-charts";
import { useEffect, useEffectEvent, useRef, useState } from "react";
import { candlesQueryKey, fetchCandles } from "@/api/sources/candles";
import type { EquityCurve, Order, RunDetail } from "@/api/types";
import { COLORS } from "@/components/charts/chart-theme";
import { indexAtOrBefore } from "@/components/charts/series-data";
import { useChart } from "@/components/charts/use-chart";
import { Card, CardTitle } from "@/components/ui/card";
import { Spinner } from "@/components/ui/states";
import { describeError } from "@/api/errors";
import { useApiClient } from "@/lib/app-config";
import type { PlaybackConnection } from "../api/protocol";
import { historyWindow, lastColumns } from "../utils/history-window";
import { DEFAULT_LIMITS, LiveChart, nextAnimationFrame, type History } from "../utils/live-chart";

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
  const [priceRef, priceChart] = useChart({ timeScale: { enableConflation: true } });
  const [equityRef, equityChart] = useChart();
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
    // The curve is in time order: the stretch up to the cursor is its start.
    const upToCursor = indexAtOrBefore(equity.time, cursorTime) + 1;
    return {
      candles: kept,
      equity: { time: equity.time.slice(0, upToCursor), equity: equity.equity.slice(0, upToCursor) },
      fills: orders.filter((o) => o.time >= first && o.time <= cursorTime),
    };
  });
  const initialCursor = useEffectEvent(() => startAt);
  const seekTo = useEffectEvent((time: number) => onSeekTime?.(time));

  useEffect(() => {
    const root = rootRef.current;
    const chart = priceChart.current;
    const lineChart = equityChart.current;
    if (!chart || !lineChart || !root) return undefined;
    const candles = chart.addSeries(CandlestickSeries, {
      upColor: COLORS.up, downColor: COLORS.down, borderVisible: false, wickUpColor: COLORS.up, wickDownColor: COLORS.down,
    });
    const line = lineChart.addSeries(LineSeries, { color: COLORS.equity, lineWidth: 2, priceLineVisible: false });
    // The fills' own series: invisible, left out of the price scale, carrying the markers at the fill prices.
    const fills = chart.addSeries(LineSeries, {
      lineVisible: false, pointMarkersVisible: false, lastValueVisible: false, priceLineVisible: false,
      crosshairMarkerVisible: false, autoscaleInfoProvider: () => null,
    });
    // Read by the browser tests and `make bench`: frames received and drawn, candles held, candles on screen.
    const showCounters = () => {
      root.dataset.framesReceived = String(live.framesReceived);
      root.dataset.framesApplied = String(live.framesApplied);
      root.dataset.candles = String(live.candleCount);
    };
    const live = new LiveChart({ candles, equity: line, fills, markers: createSeriesMarkers(fills, []) },
      DEFAULT_LIMITS, nextAnimationFrame, showCounters);
    let disposed = false;

    const showVisible = (range: LogicalRange | null) => {
      root.dataset.visibleCandles = range === null ? "0" : String(Math.round(range.to - range.from));
    };
    chart.timeScale().subscribeVisibleLogicalRangeChange(showVisible);
    // A click (not a drag) on a bar seeks there, for a viewer who controls the playback.
    const onClick = (param: MouseEventParams) => {
      if (typeof param.time === "number") seekTo(param.time);
    };
    chart.subscribeClick(onClick);
    const reset = (cursorTime: number | null) => {
      const token = live.beginReset();
      setLoading(true);
      loadHistory(cursorTime)
        .then((history) => {
          if (disposed) return;
          setHistoryError(null);
          live.completeReset(token, history);
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
          lineChart.timeScale().fitContent();
          showCounters();
        });
    };

    // Opened mid-playback (another history length): start from where the view is; else wait for a snapshot.
    const start = initialCursor();
    if (start !== undefined) reset(start);
    const unsubscribe = connection.subscribe((event) => {
      if (event.type === "snapshot" && (event.reset || live.lastCandleTime === null)) {
        reset(event.snapshot.time);
      } else if (event.type === "frame") {
        live.append(event.frame);
      }
    });
    return () => {
      disposed = true;
      unsubscribe();
      live.dispose();
      chart.timeScale().unsubscribeVisibleLogicalRangeChange(showVisible);
      chart.unsubscribeClick(onClick);
      try {
        chart.removeSeries(candles);
        chart.removeSeries(fills);
        lineChart.removeSeries(line);
      } catch {
        // the charts were removed first (the component is going away): their series went with them
      }
    };
  }, [connection, priceChart, equityChart]);

  return (
    <div ref={rootRef} data-testid="live-chart" className="flex flex-col gap-4">
      <Card>
        <CardTitle actions={loading ? <Spinner label="Loading history" /> : null}>Price · {run.symbol}</CardTitle>
        {historyError && (
          <p role="alert" className="px-4 py-1 text-sm text-amber-300">
            History before the cursor could not be loaded ({historyError}); new bars still arrive.
          </p>
        )}
        <div className="relative">
          <div ref={priceRef} data-testid="playback-price-chart" role="img"
            aria-label={`Price of ${run.symbol} up to the playback cursor`}
            className={`h-[clamp(260px,42vh,600px)] w-full ${onSeekTime ? "cursor-pointer" : ""}`} />
          {emptyHint && (
            <p data-testid="empty-chart-hint"
              className="pointer-events-none absolute inset-0 flex items-center justify-center p-6 text-center text-sm text-slate-300">
              {emptyHint}
            </p>
          )}
        </div>
      </Card>
      <Card>
        <CardTitle>Equity</CardTitle>
        <div ref={equityRef} role="img" aria-label="Equity up to the playback cursor" className="h-40 w-full" />
      </Card>
    </div>
  );
}
