import { useState } from "react";
import { Link } from "react-router";
import type { RunDetail } from "@/api/types";
import { Button } from "@/components/ui/button";
import { formatInteger, formatNumber, formatPercent, formatTime } from "@/lib/format";
import { metricValue } from "@/lib/metrics";
import { useHeadlineMetrics } from "../hooks/use-runs";
import { RunStatus } from "./run-status";
import { ShareDialog } from "./share-dialog";

function paramsText(params: Record<string, unknown>): string {
  return Object.entries(params).map(([k, v]) => `${k}=${String(v)}`).join(", ");
}

function tone(value: number | null): string {
  if (value === null || value === 0) return "";
  return value > 0 ? "text-emerald-300" : "text-rose-300";
}

/** The runs as a table on wide screens and as one card per run on narrow ones (a phone never scrolls sideways). */
export function RunsTable({ runs }: { runs: RunDetail[] }) {
  const metrics = useHeadlineMetrics(runs);
  const [sharing, setSharing] = useState<RunDetail | null>(null);
  return (
    <div>
      <ul aria-label="Runs" className="flex flex-col divide-y divide-slate-800 lg:hidden">
        {runs.map((run) => {
          const m = metrics.get(run.id)?.data;
          const loading = metrics.get(run.id)?.isPending ?? false;
          const totalReturn = metricValue(m, "total_return");
          const figure = (label: string, value: string, className = "") => (
            <div><dt className="text-xs text-slate-400">{label}</dt><dd className={`tabular-nums ${className}`}>{loading ? "…" : value}</dd></div>
          );
          return (
            <li key={run.id} data-testid="run-card" className="flex flex-col gap-2 px-4 py-3">
              <div className="flex items-start justify-between gap-2">
                <div className="min-w-0">
                  <Link to={`/runs/${run.id}`} className="font-medium text-sky-300 hover:underline">{run.symbol} · {run.timeframe}</Link>
                  <div className="text-xs break-words text-slate-400">{run.strategy} · {paramsText(run.params)}</div>
                </div>
                <RunStatus run={run} />
              </div>
              <dl className="grid grid-cols-4 gap-2 text-sm">
                {figure("Return", formatPercent(totalReturn), tone(totalReturn))}
                {figure("Sharpe", formatNumber(metricValue(m, "sharpe")))}
                {figure("Max DD", formatPercent(metricValue(m, "max_drawdown")))}
                {figure("Trades", formatInteger(metricValue(m, "trades")))}
              </dl>
              <div className="flex flex-wrap items-center justify-between gap-2 text-xs text-slate-400">
                <span>
                  {formatTime(run.from_time, true)} → {formatTime(run.to_time, true)}
                  {!run.can_control && ` · shared by ${run.owner}`}
                </span>
                <span className="flex gap-1">
                  {run.status === "completed" && (
                    <Link to={`/runs/${run.id}/playback`} className="rounded-md px-2 py-1 text-sm text-slate-300 hover:bg-slate-800">Play back</Link>
                  )}
                  {run.can_control && <Button variant="ghost" onClick={() => setSharing(run)}>Share</Button>}
                </span>
              </div>
            </li>
          );
        })}
      </ul>
      <div className="hidden overflow-x-auto lg:block">
      <table className="w-full text-left text-sm">
        <caption className="sr-only">Your runs and runs shared with you, newest first</caption>
        <thead className="text-xs text-slate-400 uppercase">
          <tr className="border-b border-slate-800">
            <th scope="col" className="px-4 py-2 font-medium">Run</th>
            <th scope="col" className="px-4 py-2 font-medium">Strategy</th>
            <th scope="col" className="px-4 py-2 font-medium">Status</th>
            <th scope="col" className="px-4 py-2 text-right font-medium">Total return</th>
            <th scope="col" className="px-4 py-2 text-right font-medium">Sharpe</th>
            <th scope="col" className="px-4 py-2 text-right font-medium">Max drawdown</th>
            <th scope="col" className="px-4 py-2 text-right font-medium">Trades</th>
            <th scope="col" className="px-4 py-2 font-medium">Created (UTC)</th>
            <th scope="col" className="px-4 py-2 font-medium"><span className="sr-only">Actions</span></th>
          </tr>
        </thead>
        <tbody>
          {runs.map((run) => {
            const m = metrics.get(run.id)?.data;
            const loadingMetrics = metrics.get(run.id)?.isPending ?? false;
            const totalReturn = metricValue(m, "total_return");
            return (
              <tr key={run.id} data-testid="run-row" className="border-b border-slate-800/70 hover:bg-slate-800/30">
                <td className="px-4 py-2">
                  <Link to={`/runs/${run.id}`} className="font-medium text-sky-300 hover:underline">
                    {run.symbol} · {run.timeframe}
                  </Link>
                  <div className="text-xs text-slate-400">
                    {formatTime(run.from_time, true)} → {formatTime(run.to_time, true)}
                    {run.shared_with.length > 0 && ` · shared with ${run.shared_with.join(", ")}`}
                    {!run.can_control && ` · shared by ${run.owner}`}
                  </div>
                </td>
                <td className="px-4 py-2">
                  <div>{run.strategy}</div>
                  <div className="text-xs text-slate-400">{run.mode} {paramsText(run.params)}</div>
                </td>
                <td className="px-4 py-2"><RunStatus run={run} /></td>
                <td className={`px-4 py-2 text-right tabular-nums ${tone(totalReturn)}`}>
                  {loadingMetrics ? "…" : formatPercent(totalReturn)}
                </td>
                <td className="px-4 py-2 text-right tabular-nums">{loadingMetrics ? "…" : formatNumber(metricValue(m, "sharpe"))}</td>
                <td className="px-4 py-2 text-right tabular-nums">{loadingMetrics ? "…" : formatPercent(metricValue(m, "max_drawdown"))}</td>
                <td className="px-4 py-2 text-right tabular-nums">{loadingMetrics ? "…" : formatInteger(metricValue(m, "trades"))}</td>
                <td className="px-4 py-2 whitespace-nowrap text-slate-400">{formatTime(run.created_at)}</td>
                <td className="px-4 py-2">
                  <div className="flex justify-end gap-1">
                    {run.status === "completed" && (
                      <Link to={`/runs/${run.id}/playback`} className="rounded-md px-2 py-1 text-sm whitespace-nowrap text-slate-300 hover:bg-slate-800">
                        Play back
                      </Link>
                    )}
                    {run.can_control && <Button variant="ghost" onClick={() => setSharing(run)}>Share</Button>}
                  </div>
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
      </div>
      {sharing && <ShareDialog run={sharing} onClose={() => setSharing(null)} />}
    </div>
  );
}
