import type { Order } from "@/api/types";

export type OrderSortKey = "time" | "side" | "quantity" | "price" | "fee" | "realized_pnl" | "reason";
export type SortDirection = "asc" | "desc";

/** A sorted copy; ties keep time order, so equal values read in the order they happened. */
export function sortOrders<T extends Order>(orders: readonly T[], key: OrderSortKey, direction: SortDirection): T[] {
  const sign = direction === "asc" ? 1 : -1;
  return orders
    .map((order, index) => ({ order, index }))
    .sort((a, b) => {
      const x = a.order[key];
      const y = b.order[key];
      const cmp = typeof x === "number" && typeof y === "number" ? x - y : String(x).localeCompare(String(y));
      return cmp !== 0 ? sign * cmp : a.index - b.index;
    })
    .map(({ order }) => order);
}
