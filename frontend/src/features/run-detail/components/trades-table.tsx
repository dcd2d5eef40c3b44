// The run's round-trip trades (entry to exit) as the backend pairs them, with how far each went against and for
// the trader while open (MAE/MFE, from the run's own bars), newest last; selecting one shows it on the chart.
import { useState } from "react";
import type { Trade } from "@/api/types";
import { Card, CardTitle } from "@/components/ui/card";
import { PageNav } from "@/components/ui/page-nav";
import { EmptyState, ErrorState, LoadingState } from "@/components/ui/states";
import { formatDuration, formatInteger, formatMoney, formatNumber, formatPercent, formatTime } from "@/lib/format";

const PAGE_SIZE = 25;

function tone(value: number): string {
  return value > 0 ? "text-emerald-300" : value < 0 ? "text-rose-300" : "";
}

interface Props {
  /** Undefined while loading. */
  trades: Trade[] | undefined;
  error: unknown;
  onRetry: () => void;
  /** Shows a trade on the chart (its entry to its exit). */
  onShow: (trade: Trade) => void;
}

/** An excursion as a return and in money: "−3.10 % (−620.00)". */
function Excursion({ share, money }: { share: number; money: number }) {
  return (
    <span className={tone(share)}>
      {formatPercent(share)} <span className="text-xs text-slate-400">({formatMoney(money)})</span>
    </span>
  );
}

export function TradesTable({ trades, error, onRetry, onShow }: Props) {
  const [page, setPage] = useState(0);
  if (error) return <Card><ErrorState title="The trades could not be loaded" error={error} onRetry={onRetry} /></Card>;
  if (trades === undefined) return <Card><LoadingState label="Loading the trades…" /></Card>;
  const pages = Math.max(1, Math.ceil(trades.length / PAGE_SIZE));
  const rows = trades.slice(page * PAGE_SIZE, (page + 1) * PAGE_SIZE);
  const closed = trades.filter((t) => t.exit_time !== null);
  const won = closed.filter((t) => t.pnl > 0).length;

  return (
    <Card>
      <CardTitle>
        Trades · {formatInteger(trades.length)} round trips
        {closed.length > 0 && (
          <span className="ml-2 text-xs font-normal text-slate-400">{formatPercent(won / closed.length, 1)} won</span>
        )}
      </CardTitle>
      {trades.length === 0 ? (
        <EmptyState title="No trades">The strategy never opened a position in this run.</EmptyState>
      ) : (
        <>
          <div className="overflow-x-auto">
            <table className="w-full text-sm" data-testid="trades-table">
              <caption className="sr-only">Round-trip trades of the run; select one to show it on the chart</caption>
              <thead className="text-xs text-slate-400 uppercase">
                <tr className="border-b border-slate-800">
                  <th scope="col" className="px-3 py-1.5 text-left font-medium">Trade</th>
                  <th scope="col" className="px-3 py-1.5 text-left font-medium">Side</th>
                  <th scope="col" className="px-3 py-1.5 text-left font-medium">Entry (UTC)</th>
                  <th scope="col" className="px-3 py-1.5 text-left font-medium">Exit (UTC)</th>
                  <th scope="col" className="px-3 py-1.5 text-right font-medium">Size</th>
                  <th scope="col" className="px-3 py-1.5 text-right font-medium">Entry → exit price</th>
                  <th scope="col" className="px-3 py-1.5 text-right font-medium">Return</th>
                  <th scope="col" className="px-3 py-1.5 text-right font-medium">PnL</th>
                  <th scope="col" className="px-3 py-1.5 text-right font-medium">Duration</th>
                  <th scope="col" className="px-3 py-1.5 text-right font-medium">
                    <abbr title="Maximum adverse excursion: the worst it stood while open">MAE</abbr>
                  </th>
                  <th scope="col" className="px-3 py-1.5 text-right font-medium">
                    <abbr title="Maximum favourable excursion: the best it stood while open">MFE</abbr>
                  </th>
                </tr>
              </thead>
              <tbody>
                {rows.map((t) => (
                  <tr key={t.number} data-testid="trade-row" onClick={() => onShow(t)}
                    className="cursor-pointer border-b border-slate-800/60 hover:bg-slate-800/40">
                    <td className="px-3 py-1">
                      <button type="button" onClick={(e) => {
                        e.stopPropagation();
                        onShow(t);
                      }} className="rounded px-1 text-sky-300 hover:underline focus-visible:outline-2 focus-visible:outline-sky-400"
                        aria-label={`Show trade ${t.number} on the chart`}>
                        #{formatInteger(t.number)}
                      </button>
                    </td>
                    <td className={`px-3 py-1 ${t.side === "long" ? "text-emerald-300" : "text-rose-300"}`}>{t.side}</td>
                    <td className="px-3 py-1 whitespace-nowrap">{formatTime(t.entry_time)}</td>
                    <td className="px-3 py-1 whitespace-nowrap">{t.exit_time === null ? "open" : formatTime(t.exit_time)}</td>
                    <td className="px-3 py-1 text-right tabular-nums">{formatNumber(t.size, 6)}</td>
                    <td className="px-3 py-1 text-right whitespace-nowrap tabular-nums">
                      {formatMoney(t.entry_price)} → {formatMoney(t.exit_price)}
                    </td>
                    <td className={`px-3 py-1 text-right tabular-nums ${tone(t.return)}`}>{formatPercent(t.return)}</td>
                    <td className={`px-3 py-1 text-right tabular-nums ${tone(t.pnl)}`}>{formatMoney(t.pnl)}</td>
                    <td className="px-3 py-1 text-right whitespace-nowrap">
                      {t.exit_time === null ? "—" : formatDuration(t.exit_time - t.entry_time)}
                    </td>
                    <td className="px-3 py-1 text-right whitespace-nowrap tabular-nums" data-testid="trade-mae">
                      <Excursion share={t.mae} money={t.mae_pnl} />
                    </td>
                    <td className="px-3 py-1 text-right whitespace-nowrap tabular-nums" data-testid="trade-mfe">
                      <Excursion share={t.mfe} money={t.mfe_pnl} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <p className="px-4 pt-1 text-xs text-slate-400">
            PnL is net of fees; an open trade is valued at the last close. MAE and MFE are the worst and best the
            trade stood while open, against its entry price, from every bar of the run.
          </p>
          <PageNav label="Trades pages" page={page} pages={pages} onPage={setPage} />
        </>
      )}
    </Card>
  );
}
