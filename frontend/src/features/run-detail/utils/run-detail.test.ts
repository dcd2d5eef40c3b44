import { describe, expect, it } from "vitest";
import type { Order } from "@/api/types";
import { defaultTimeframe, timeframeOptions } from "./chart-timeframes";
import { metricCards } from "./metric-cards";
import { sortOrders } from "./sort-orders";

function order(time: number, side: "buy" | "sell", pnl: number): Order {
  return { bar_index: time, time, side, quantity: 1, price: 10, fee: 0.1, reason: `r${time}`, realized_pnl: pnl };
}

describe("run detail", () => {
  it("shows each ratio with how it is annualised, and undefined metrics as a dash", () => {
    const cards = metricCards({ sharpe: 1.234, total_return: -0.05, calmar: null, trades: 1234 }, 525_960);
    const byKey = Object.fromEntries(cards.map((c) => [c.key, c]));
    expect(byKey.sharpe).toMatchObject({ value: "1.23", tone: "positive" });
    expect(byKey.sharpe?.note).toContain("√525,960");
    expect(byKey.annualized_return?.note).toContain("× 525,960 periods/yr");
    expect(byKey.total_return).toMatchObject({ value: "-5.00 %", tone: "negative" });
    expect(byKey.calmar?.value).toBe("—");
    expect(byKey.trades?.value).toBe("1,234");
  });

  it("explains figures that would puzzle: annualised return far from CAGR, no closed trades", () => {
    const cards = metricCards({ annualized_return: -1.59, cagr: -0.83, trades: 0, win_rate: null }, 525_960);
    const byKey = Object.fromEntries(cards.map((c) => [c.key, c]));
    expect(byKey.annualized_return?.note).toContain("parts from CAGR");
    expect(byKey.trades?.note).toContain("no round trip closed");
    expect(byKey.win_rate?.note).toContain("this run closed none");
    const close = metricCards({ annualized_return: 0.12, cagr: 0.11, trades: 3 }, 252);
    expect(close.find((c) => c.key === "annualized_return")?.note).toContain("mean period return");
  });

  it("sorts orders by any column, ties in time order", () => {
    const orders = [order(3, "sell", 5), order(1, "buy", -1), order(2, "sell", 5)];
    expect(sortOrders(orders, "realized_pnl", "desc").map((o) => o.time)).toEqual([3, 2, 1]);
    expect(sortOrders(orders, "realized_pnl", "asc").map((o) => o.time)).toEqual([1, 3, 2]);
    expect(sortOrders(orders, "side", "asc").map((o) => o.time)).toEqual([1, 3, 2]);
    expect(sortOrders(orders, "time", "asc").map((o) => o.time)).toEqual([1, 2, 3]);
  });

  it("opens at the run's own resolution and offers raw minutes only when they fit one chart", () => {
    expect(defaultTimeframe({ timeframe: "day" })).toBe("1D");
    expect(defaultTimeframe({ timeframe: "minute" })).toBe("1M_DECIMATED");
    const year = timeframeOptions({ from_time: 0, to_time: 365 * 86_400 });
    expect(year.find((o) => o.value === "1M")?.disabled).toBe(true);
    const hours = timeframeOptions({ from_time: 0, to_time: 6 * 86_400 });
    expect(hours.find((o) => o.value === "1M")?.disabled).toBe(false);
  });
});
