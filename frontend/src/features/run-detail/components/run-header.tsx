import { Link } from "react-router";
import type { RunComplete } from "@/api/types";
import { formatInteger, formatMoney, formatNumber, formatTime } from "@/lib/format";
import { useRunViewers } from "../hooks/use-run-data";

function params(run: RunComplete["run"]): string {
  const entries = Object.entries(run.params);
  return entries.length ? entries.map(([k, v]) => `${k} ${String(v)}`).join(" · ") : "no parameters";
}

export function RunHeader({ data, path }: { data: RunComplete; path: string }) {
  const { run, metadata } = data;
  const watching = useRunViewers(run.id, run.status === "completed").data?.viewers;
  return (
    <div className="flex flex-wrap items-start justify-between gap-3">
      <div>
        <p className="text-sm text-slate-400"><Link to="/" className="hover:text-white">Runs</Link> / {run.id.slice(0, 8)}</p>
        <h1 className="text-xl font-semibold">
          {run.symbol} · {run.strategy} <span className="text-base font-normal text-slate-400">({run.timeframe} bars, {run.mode})</span>
        </h1>
        <p className="text-sm text-slate-400">
          {params(run)} · {formatTime(run.from_time, true)} → {formatTime(run.to_time, true)} · cash {formatMoney(run.cash)}
          {" "}· commission {formatNumber(run.commission_rate * 10_000)} bps · slippage {formatNumber(run.slippage_bps)} bps
        </p>
        <p data-testid="load-info" className="text-xs text-slate-400">
          Owner {run.owner}{run.shared_with.length > 0 && ` · shared with ${run.shared_with.join(", ")}`}
          {" "}· loaded in {formatNumber(metadata.load_time_ms, 1)} ms ({metadata.cache}, {path === "bff" ? "through the api" : "direct from the backend"})
        </p>
      </div>
      {run.status === "completed" && (
        <div className="flex items-center gap-3">
          {watching !== undefined && (
            <span data-testid="run-viewers" className="text-sm text-slate-400">
              {watching === 0 ? "Nobody is watching the replay" : `${formatInteger(watching)} watching the replay`}
            </span>
          )}
          <Link to={`/runs/${run.id}/playback`}
            className="rounded-md bg-sky-500 px-3 py-1.5 text-sm font-medium text-slate-950 hover:bg-sky-400">
            Play back
          </Link>
        </div>
      )}
    </div>
  );
}
