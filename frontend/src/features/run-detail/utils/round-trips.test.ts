import { describe, expect, it } from "vitest";
import type { Order } from "@/api/types";
import { roundTrips } from "./round-trips";

function fill(time: number, side: "buy" | "sell", quantity: number, price: number, realized_pnl = 0, fee = 0): Order {
  return { bar_index: time, time, side, quantity, price, fee, realized_pnl, reason: "signal" };
}

describe("round-trip trades", () => {
  it("pairs a long's entry and exit, scaling in, with PnL net of fees, return and duration's ends", () => {
    const [trade] = roundTrips([
      fill(100, "buy", 1, 100, 0, 1), fill(200, "buy", 1, 110, 0, 1), fill(300, "sell", 2, 120, 30, 2),
    ]);
    expect(trade).toMatchObject({ number: 1, side: "long", entryTime: 100, exitTime: 300, size: 2, entryPrice: 105,
      exitPrice: 120, pnl: 26, fees: 4, fills: 3 });
    expect(trade?.return).toBeCloseTo(26 / 210);
  });

  it("splits a reversal into the trade it closes and the short it opens; an open trade has no exit", () => {
    const trades = roundTrips([fill(100, "buy", 1, 100), fill(200, "sell", 3, 90, -10), fill(300, "buy", 1, 80, 10)]);
    expect(trades.map((t) => [t.side, t.entryTime, t.exitTime, t.size])).toEqual([
      ["long", 100, 200, 1], ["short", 200, null, 2],
    ]);
    expect(trades[0]?.pnl).toBe(-10);
    expect(trades[1]?.exitPrice).toBe(80);
  });

  it("gives nothing for no fills", () => {
    expect(roundTrips([])).toEqual([]);
  });
});
