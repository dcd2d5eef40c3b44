import type { OpsPoint } from "../api/ops-api";
import { Sparkline } from "./sparkline";

type Series = Exclude<keyof OpsPoint, "at_ms">;

/** One number now, and its sparkline over the nodes' recent history. */
export function StatTile({ label, series, history, format, tone = "text-sky-300" }: {
  label: string;
  series: Series;
  history: readonly OpsPoint[];
  format: (value: number | null | undefined) => string;
  tone?: string;
}) {
  const values = history.map((point) => point[series] as number | null | undefined);
  const current = values.length > 0 ? values[values.length - 1] : null;
  return (
    <div data-testid={`tile-${series}`} className="flex flex-col gap-1 rounded-md border border-slate-800 bg-slate-950/50 px-3 py-2">
      <span className="text-xs text-slate-400">{label}</span>
      <span data-testid="tile-value" className="text-lg font-semibold tabular-nums text-slate-100">{format(current)}</span>
      <Sparkline values={values} label={label} className={tone} />
    </div>
  );
}
