import type { RunDetail } from "@/api/types";

const STYLES: Record<RunDetail["status"], string> = {
  queued: "bg-slate-700 text-slate-200",
  running: "bg-sky-900 text-sky-200",
  completed: "bg-emerald-900/70 text-emerald-200",
  failed: "bg-rose-900/70 text-rose-200",
};

/** Status, with a progress bar while the run executes and the reason when it failed. */
export function RunStatus({ run }: { run: RunDetail }) {
  const percent = Math.round(run.progress * 100);
  return (
    <div className="flex min-w-28 flex-col gap-1">
      <span className={`w-fit rounded-full px-2 py-0.5 text-xs font-medium ${STYLES[run.status]}`}>{run.status}</span>
      {(run.status === "running" || run.status === "queued") && (
        <div role="progressbar" aria-label={`Run ${run.id} progress`} aria-valuemin={0} aria-valuemax={100}
          aria-valuenow={percent} className="h-1.5 w-28 overflow-hidden rounded bg-slate-800">
          <div className="h-full bg-sky-400 transition-[width]" style={{ width: `${percent}%` }} />
        </div>
      )}
      {run.status === "failed" && run.error && <span className="max-w-56 text-xs text-rose-300">{run.error}</span>}
    </div>
  );
}
