import { formatInteger, formatMoney, formatNumber, formatPercent, formatTime } from "@/lib/format";
import type { PlaybackView } from "../utils/playback-view";

function Stat({ label, value, testId }: { label: string; value: string; testId?: string }) {
  return (
    <div className="rounded-md border border-slate-800 bg-slate-900/60 px-3 py-1.5">
      <dt className="text-xs text-slate-400">{label}</dt>
      <dd data-testid={testId} className="font-semibold tabular-nums">{value}</dd>
    </div>
  );
}

/** The account and statistics as of the cursor (nothing past it is ever known to the page). */
export function PlaybackStats({ view }: { view: PlaybackView }) {
  const s = view.stats;
  const winRate = s && s.closed_trades > 0 ? s.winning_trades / s.closed_trades : null;
  return (
    <dl aria-label="Statistics as of the cursor" className="grid grid-cols-2 gap-2 sm:grid-cols-4 xl:grid-cols-8">
      <Stat label="Bar" testId="cursor" value={`${formatInteger(view.cursor + 1)} / ${formatInteger(view.totalBars)}`} />
      <Stat label="Time (UTC)" testId="cursor-time" value={formatTime(view.time)} />
      <Stat label="Equity" testId="equity" value={formatMoney(s?.equity)} />
      <Stat label="Return" value={formatPercent(s?.total_return)} />
      <Stat label="Position" testId="position" value={formatNumber(view.position, 6)} />
      <Stat label="Cash" value={formatMoney(view.cash)} />
      <Stat label="Drawdown (max)" value={`${formatPercent(s?.drawdown, 1)} (${formatPercent(s?.max_drawdown, 1)})`} />
      <Stat label="Fills · closed trades" value={`${formatInteger(s?.fills)} · ${formatInteger(s?.closed_trades)}`} />
      <Stat label="Win rate" value={formatPercent(winRate, 1)} />
      <Stat label="Realised PnL" value={formatMoney(s?.realized_pnl)} />
      <Stat label="Fees" value={formatMoney(s?.fees)} />
      <Stat label="Progress" value={formatPercent(s?.progress, 1)} />
    </dl>
  );
}
