import { useCallback } from "react";
import { Link, useParams, useSearchParams } from "react-router";
import { EmptyState, ErrorState, LoadingState } from "@/components/ui/states";
import { formatInteger } from "@/lib/format";
import type { PlaybackControl } from "../api/protocol";
import { usePlaybackConnection } from "../hooks/use-playback-connection";
import { usePlaybackRun } from "../hooks/use-playback-run";
import { usePlaybackView } from "../hooks/use-playback-view";
import { ConnectionStatus } from "./connection-status";
import { LiveChartPanel } from "./live-chart-panel";
import { Notices } from "./notices";
import { PlaybackControls } from "./playback-controls";
import { PlaybackStats } from "./playback-stats";

const HISTORY_CHOICES = [1_000, 2_000, 5_000, 10_000] as const;
const DEFAULT_HISTORY = 2_000;

function historyBars(value: string | null): number {
  const n = Number(value);
  return HISTORY_CHOICES.includes(n as (typeof HISTORY_CHOICES)[number]) ? n : DEFAULT_HISTORY;
}

export function PlaybackPage() {
  const { runId = "" } = useParams();
  const [search, setSearch] = useSearchParams();
  const bars = historyBars(search.get("history"));
  const run = usePlaybackRun(runId);
  const connection = usePlaybackConnection(runId);
  const { view, dismiss } = usePlaybackView(connection);
  const send = useCallback((control: PlaybackControl) => {
    connection?.send(control);
  }, [connection]);

  if (run.isPending) return <LoadingState label="Loading the run…" />;
  if (run.isError) return <ErrorState title="This run could not be loaded" error={run.error} onRetry={() => void run.refetch()} />;
  const data = run.data;
  if (data.run.status !== "completed" || data.equity === null) {
    return <EmptyState title={`This run is ${data.run.status}`}>Only completed runs play back.</EmptyState>;
  }

  return (
    <>
      <div className="flex flex-wrap items-start justify-between gap-3">
        <div>
          <p className="text-sm text-slate-400">
            <Link to="/" className="hover:text-white">Runs</Link> / <Link to={`/runs/${runId}`} className="hover:text-white">
              {data.run.symbol} · {data.run.strategy}</Link> / playback
          </p>
          <h1 className="text-xl font-semibold">Playback · {data.run.symbol} {data.run.timeframe} bars</h1>
          <ConnectionStatus view={view} />
        </div>
        <label className="flex items-center gap-2 text-sm text-slate-300">
          History shown
          <select value={bars} onChange={(e) => setSearch({ history: e.target.value }, { replace: true })}
            className="rounded-md border border-slate-700 bg-slate-950 px-2 py-1 text-sm">
            {HISTORY_CHOICES.map((n) => <option key={n} value={n}>{formatInteger(n)} bars</option>)}
          </select>
        </label>
      </div>
      <Notices notices={view.notices} onDismiss={dismiss} />
      <PlaybackControls view={view} send={send} />
      <PlaybackStats view={view} />
      {connection && (
        <LiveChartPanel key={`${runId}-${connection.mode}-${bars}`} connection={connection} run={data.run}
          equity={data.equity} orders={data.orders?.orders ?? []} historyBars={bars}
          startAt={view.ready ? view.time : undefined} />
      )}
    </>
  );
}
