import { useMemo, useState } from "react";
import type { Order } from "@/api/types";
import { Card, CardTitle } from "@/components/ui/card";
import { PageNav } from "@/components/ui/page-nav";
import { EmptyState } from "@/components/ui/states";
import { formatInteger, formatMoney, formatNumber, formatTime } from "@/lib/format";
import { sortOrders, type OrderSortKey, type SortDirection } from "../utils/sort-orders";

const PAGE_SIZE = 50;

const COLUMNS: { key: OrderSortKey; label: string; numeric: boolean }[] = [
  { key: "time", label: "Time (UTC)", numeric: false },
  { key: "side", label: "Side", numeric: false },
  { key: "quantity", label: "Quantity", numeric: true },
  { key: "price", label: "Price", numeric: true },
  { key: "fee", label: "Fee", numeric: true },
  { key: "realized_pnl", label: "Realised PnL", numeric: true },
  { key: "reason", label: "Reason", numeric: false },
];

export function OrdersTable({ orders, unavailable }: { orders: Order[] | null; unavailable: string | null }) {
  const [sort, setSort] = useState<{ key: OrderSortKey; direction: SortDirection }>({ key: "time", direction: "asc" });
  const [page, setPage] = useState(0);
  // A reversal fills twice on one bar with the same side and reason: the position in time order tells them apart.
  const numbered = useMemo(() => (orders ?? []).map((order, seq) => ({ ...order, seq })), [orders]);
  const sorted = useMemo(() => sortOrders(numbered, sort.key, sort.direction), [numbered, sort]);
  const pages = Math.max(1, Math.ceil(sorted.length / PAGE_SIZE));
  const rows = sorted.slice(page * PAGE_SIZE, (page + 1) * PAGE_SIZE);

  const sortBy = (key: OrderSortKey) => {
    setSort((s) => ({ key, direction: s.key === key && s.direction === "asc" ? "desc" : "asc" }));
    setPage(0);
  };

  return (
    <Card>
      <CardTitle>Orders{orders ? ` · ${formatInteger(orders.length)} fills` : ""}</CardTitle>
      {unavailable !== null ? (
        <EmptyState title="Orders are not available">{unavailable}</EmptyState>
      ) : sorted.length === 0 ? (
        <EmptyState title="No fills">The strategy never traded in this run.</EmptyState>
      ) : (
        <>
          <div className="overflow-x-auto">
            <table className="w-full min-w-[760px] text-sm" data-testid="orders-table">
              <caption className="sr-only">Fills of the run; select a column header to sort by it</caption>
              <thead className="text-xs text-slate-400">
                <tr className="border-b border-slate-800">
                  {COLUMNS.map((c) => (
                    <th key={c.key} scope="col" className={`px-4 py-1.5 font-medium ${c.numeric ? "text-right" : "text-left"}`}
                      aria-sort={sort.key === c.key ? (sort.direction === "asc" ? "ascending" : "descending") : "none"}>
                      <button type="button" onClick={() => sortBy(c.key)}
                        className="inline-flex items-center gap-1 rounded px-1 uppercase hover:text-white focus-visible:outline-2 focus-visible:outline-sky-400">
                        {c.label}
                        <span aria-hidden>{sort.key === c.key ? (sort.direction === "asc" ? "▲" : "▼") : "↕"}</span>
                      </button>
                    </th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {rows.map((o) => (
                  <tr key={o.seq} className="border-b border-slate-800/60">
                    <td className="px-4 py-1 whitespace-nowrap">{formatTime(o.time)}</td>
                    <td className={`px-4 py-1 ${o.side === "buy" ? "text-emerald-300" : "text-rose-300"}`}>{o.side}</td>
                    <td className="px-4 py-1 text-right tabular-nums">{formatNumber(o.quantity, 6)}</td>
                    <td className="px-4 py-1 text-right tabular-nums">{formatMoney(o.price)}</td>
                    <td className="px-4 py-1 text-right tabular-nums">{formatMoney(o.fee)}</td>
                    <td className={`px-4 py-1 text-right tabular-nums ${o.realized_pnl > 0 ? "text-emerald-300" : o.realized_pnl < 0 ? "text-rose-300" : ""}`}>
                      {formatMoney(o.realized_pnl)}
                    </td>
                    <td className="px-4 py-1 text-slate-300">{o.reason}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <PageNav label="Orders pages" page={page} pages={pages} onPage={setPage} />
        </>
      )}
    </Card>
  );
}
