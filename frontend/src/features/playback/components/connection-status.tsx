import { formatInteger } from "@/lib/format";
import type { PlaybackView } from "../utils/playback-view";

function describe(view: PlaybackView): { text: string; tone: string } {
  const c = view.connection;
  switch (c.kind) {
    case "connecting":
      return { text: c.attempt > 0 ? `Reconnecting (attempt ${c.attempt})…` : "Connecting…", tone: "bg-slate-700 text-slate-200" };
    case "open":
      return view.ready ? { text: "Live", tone: "bg-emerald-900/70 text-emerald-200" }
        : { text: "Connected, waiting for the playback…", tone: "bg-slate-700 text-slate-200" };
    case "reconnecting":
      return { text: `Reconnecting in ${(c.delayMs / 1000).toFixed(1)} s (${c.reason})`, tone: "bg-amber-900/70 text-amber-200" };
    case "closed":
      return { text: `Disconnected: ${c.reason}`, tone: "bg-rose-900/70 text-rose-200" };
  }
}

export function ConnectionStatus({ view }: { view: PlaybackView }) {
  const { text, tone } = describe(view);
  const source = view.mode === "direct" ? "private playback, direct from the backend"
    : view.degraded ? "private playback (shared stream unavailable)" : "shared stream";
  return (
    <div className="flex flex-wrap items-center gap-2 text-sm">
      {/* The continuity counts ride on the indicator, for the browser tests and anyone inspecting a stream. */}
      <span role="status" data-testid="connection-state" data-state={view.connection.kind}
        data-gaps={view.continuity.gaps} data-duplicates={view.continuity.duplicates}
        className={`rounded-full px-2.5 py-0.5 text-xs font-medium ${tone}`}>{text}</span>
      <span className="text-slate-400">{source}</span>
      <span data-testid="viewers" className="text-slate-400">
        {formatInteger(view.viewers)} {view.viewers === 1 ? "viewer" : "viewers"}
      </span>
      <span data-testid="playback-state" className="text-slate-400">· {view.state} at {formatInteger(view.speed)} bars/s</span>
      {view.upstreamLost && (
        <span role="alert" className="rounded-full bg-amber-900/70 px-2.5 py-0.5 text-xs text-amber-200">
          Paused by the source: {view.upstreamLost}
        </span>
      )}
    </div>
  );
}
