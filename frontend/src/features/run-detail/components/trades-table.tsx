// The run's round-trip trades (entry to exit), newest last; selecting one shows it on the chart.
import { useMemo, useState } from "react";
import type { Order } from "@/api/types";
import { Card, CardTitle } from "@/components/ui/card";
import { PageNav } from "@/components/ui/page-nav";
import { EmptyState } from "@/components/ui/states";
import { formatDuration, formatInteger, formatMoney, formatNumber, formatPercent, formatTime } from "@/lib/format";
import { roundTrips, type RoundTrip } from "../utils/round-trips";

const PAGE_SIZE = 25;

function tone(value: number): string {
  return value > 0 ? "text-emerald-300" : value < 0 ? "text-rose-300" : "";
}

interface Props {
  orders: Order[] | null;
  /** Shows a trade on the chart (its entry to its exit). */
  onShow: (trade: RoundTrip) => void;
}

export function TradesTable({ orders, onShow }: Props) {
  const trades = useMemo(() => roundTrips(orders ?? []), [orders]);
  const [page, setPage] = useState(0);
  const pages = Math.max(1, Math.ceil(trades.length / PAGE_SIZE));
  const rows = trades.slice(page * PAGE_SIZE, (page + 1) * PAGE_SIZE);
  const won = trades.filter((t) => t.exitTime !== null && t.pnl > 0).length;
  const closed = trades.filter((t) => t.exitTime !== null).length;

  if (orders === null) return null;
  return (
    <Card>
      <CardTitle>
        Trades · {formatInteger(trades.length)} round trips
        {closed > 0 && <span className="ml-2 text-xs font-normal text-slate-400">{formatPercent(won / closed, 1)} won</span>}
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
                    <td className="px-3 py-1 whitespace-nowrap">{formatTime(t.entryTime)}</td>
                    <td className="px-3 py-1 whitespace-nowrap">{t.exitTime === null ? "open" : formatTime(t.exitTime)}</td>
                    <td className="px-3 py-1 text-right tabular-nums">{formatNumber(t.size, 6)}</td>
                    <td className="px-3 py-1 text-right whitespace-nowrap tabular-nums">
                      {formatMoney(t.entryPrice)} → {formatMoney(t.exitPrice)}
                    </td>
                    <td className={`px-3 py-1 text-right tabular-nums ${tone(t.return)}`}>{formatPercent(t.return)}</td>
                    <td className={`px-3 py-1 text-right tabular-nums ${tone(t.pnl)}`}>{formatMoney(t.pnl)}</td>
                    <td className="px-3 py-1 text-right whitespace-nowrap">
                      {t.exitTime === null ? "—" : formatDuration(t.exitTime - t.entryTime)}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <p className="px-4 pt-1 text-xs text-slate-400">
            PnL is net of fees. Excursions (MAE/MFE) need the bars inside each trade and are not shown.
          </p>
          <PageNav label="Trades pages" page={page} pages={pages} onPage={setPage} />
        </>
      )}
    </Card>
  );
}
