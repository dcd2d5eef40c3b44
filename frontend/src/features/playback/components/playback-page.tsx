import { useCallback, useMemo, useState } from "react";
import { Link, useParams, useSearchParams } from "react-router";
import { EmptyState, ErrorState, LoadingState } from "@/components/ui/states";
import { formatInteger } from "@/lib/format";
import type { PlaybackControl } from "../api/protocol";
import { usePlaybackConnection } from "../hooks/use-playback-connection";
import { usePlaybackHotkeys } from "../hooks/use-playback-hotkeys";
import { usePlaybackRun } from "../hooks/use-playback-run";
import { usePlaybackView } from "../hooks/use-playback-view";
import { ConfirmJump } from "./confirm-jump";
import { ConnectionStatus } from "./connection-status";
import { LiveChartPanel } from "./live-chart-panel";
import { Notices } from "./notices";
import { PlaybackControls } from "./playback-controls";
import { PlaybackStats } from "./playback-stats";

const HISTORY_CHOICES = [1_000, 2_000, 5_000, 10_000, 50_000] as const;
const DEFAULT_HISTORY = 2_000;

function historyBars(value: string | null): number {
  const n = Number(value);
  return HISTORY_CHOICES.includes(n as (typeof HISTORY_CHOICES)[number]) ? n : DEFAULT_HISTORY;
}

/** What the chart says before the first bar is played (null once there is something to show). */
function emptyHint(ready: boolean, cursor: number, canControl: boolean): string | null {
  if (!ready || cursor >= 0) return null;
  return canControl ? "Nothing played yet. Press Play (or Space) to start, or pick a date under Go to (UTC)."
    : "Nothing played yet. The chart fills in as soon as the run's owner starts the playback.";
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
  const [confirming, setConfirming] = useState<"start" | "end" | null>(null);
  const orders = run.data?.orders?.orders;
  const fillTimes = useMemo(() => (orders ?? []).map((o) => o.time), [orders]);
  const canControl = view.canControl && view.connection.kind === "open" && view.ready;
  usePlaybackHotkeys({ view, enabled: canControl && confirming === null, fillTimes, send, confirm: setConfirming });
  const jump = () => {
    send({ type: "seek", cursor: confirming === "start" ? -1 : Math.max(0, view.totalBars - 1) });
    setConfirming(null);
  };

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
      {/* The chart comes first, right under the title: nothing above it changes size while the run plays. */}
      {connection && (
        <LiveChartPanel key={`${runId}-${connection.mode}-${bars}`} connection={connection} run={data.run}
          equity={data.equity} orders={data.orders?.orders ?? []} historyBars={bars}
          startAt={view.ready ? view.time : undefined} emptyHint={emptyHint(view.ready, view.cursor, canControl)}
          onSeekTime={canControl ? (time) => send({ type: "seek", time }) : null} />
      )}
      <PlaybackControls view={view} send={send} confirm={setConfirming} />
      {confirming && <ConfirmJump to={confirming} onConfirm={jump} onCancel={() => setConfirming(null)} />}
      <PlaybackStats view={view} />
    </>
  );
}
