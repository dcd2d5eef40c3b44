import type { Order } from "@/api/types";

export type OrderSortKey = "time" | "side" | "quantity" | "price" | "fee" | "realized_pnl" | "reason";
export type SortDirection = "asc" | "desc";

/** A sorted copy; ties keep time order (the sort is stable), so equal values read in the order they happened. */
export function sortOrders<T extends Order>(orders: readonly T[], key: OrderSortKey, direction: SortDirection): T[] {
  const sign = direction === "asc" ? 1 : -1;
  return [...orders].sort((a, b) => {
    const x = a[key];
    const y = b[key];
    return sign * (typeof x === "number" && typeof y === "number" ? x - y : String(x).localeCompare(String(y)));
  });
}
