import { useState } from "react";
import { useParams } from "react-router";
import type { ChartTimeframe } from "@/api/types";
import { Card } from "@/components/ui/card";
import { EmptyState, ErrorState, LoadingState } from "@/components/ui/states";
import { useDataPath } from "@/lib/app-config";
import { formatPercent } from "@/lib/format";
import { useCandles, useIndicators, useRunComplete, useTrades } from "../hooks/use-run-data";
import { defaultTimeframe, MAX_CANDLES } from "../utils/chart-timeframes";
import { MetricCards } from "./metric-cards";
import { OrdersTable } from "./orders-table";
import { RunCharts } from "./run-charts";
import { RunHeader } from "./run-header";
import { TradesTable } from "./trades-table";

const EQUITY_POINTS = 2_000;

export function RunDetailPage() {
  const { runId = "" } = useParams();
  const runsPath = useDataPath("runs");
  const complete = useRunComplete({ runId, targetPoints: EQUITY_POINTS, includeOrders: true });
  const [chosen, setChosen] = useState<ChartTimeframe | null>(null);
  // The stretch of time a selected trade asks the chart to show (a new object each time, so it shows it again).
  const [focus, setFocus] = useState<{ from: number; to: number } | null>(null);
  const run = complete.data?.run;
  const timeframe = chosen ?? (run ? defaultTimeframe(run) : "1D");
  const candles = useCandles(run && run.status === "completed"
    ? { symbol: run.symbol, timeframe, from: run.from_time, to: run.to_time, targetPoints: MAX_CANDLES }
    : null);

  const indicators = useIndicators(runId, run?.status === "completed");
  const trades = useTrades(runId, run?.status === "completed");

  if (complete.isPending) return <LoadingState label="Loading the run…" />;
  if (complete.isError) return <ErrorState title="This run could not be loaded" error={complete.error}
    onRetry={() => void complete.refetch()} />;

  const data = complete.data;
  if (data.run.status !== "completed" || data.equity === null) {
    return (
      <>
        <RunHeader data={data} path={runsPath} />
        <Card>
          {data.run.status === "failed" ? (
            <EmptyState title="This run failed">{data.run.error ?? "The backend gave no reason."}</EmptyState>
          ) : (
            <EmptyState title={`This run is ${data.run.status}`}>
              <span role="status">Progress {formatPercent(data.run.progress, 0)}. Results appear here when it completes.</span>
            </EmptyState>
          )}
        </Card>
      </>
    );
  }

  const ordersFailure = data.metadata.partial_failures.find((f) => f.part === "orders");
  return (
    <>
      <RunHeader data={data} path={runsPath} />
      <MetricCards metrics={data.metrics} periodsPerYear={data.periods_per_year} />
      <RunCharts run={data.run} equity={data.equity} detailPoints={EQUITY_POINTS} orders={data.orders?.orders ?? null} candles={candles.data}
        candlesLoading={candles.isFetching} candlesError={candles.isError ? candles.error : null}
        onRetryCandles={() => void candles.refetch()} timeframe={timeframe} onTimeframe={setChosen} focus={focus}
        indicators={indicators.data} />
      <TradesTable trades={trades.data?.trades} error={trades.isError ? trades.error : null}
        onRetry={() => void trades.refetch()}
        onShow={(t) => setFocus({ from: t.entry_time, to: t.exit_time ?? data.run.to_time })} />
      <OrdersTable orders={data.orders?.orders ?? null}
        unavailable={ordersFailure ? `${ordersFailure.message} (${ordersFailure.code})` : null} />
    </>
  );
}
