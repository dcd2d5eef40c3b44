import { describe, expect, it } from "vitest";
import { barsFrame, stats } from "@/test/messages";
import { applyFrame } from "./live-stats";

function fill(side: "buy" | "sell", quantity: number, realized: number, fee = 1) {
  return { bar_index: 0, time: 0, side, quantity, price: 10, fee, reason: "signal", realized_pnl: realized };
}

describe("statistics carried forward by frames", () => {
  it("counts fills, fees, realised pnl and closed trades (fills against the position)", () => {
    const frame = { ...barsFrame(0, 1), fills: [fill("buy", 2, -1), fill("sell", 2, 5), fill("sell", 1, -1)] };
    const next = applyFrame(stats(), 0, frame, 100);
    expect(next).toMatchObject({ fills: 3, fees: 3, realized_pnl: 3, closed_trades: 1, winning_trades: 1 });
  });

  it("counts a reversal's closing fill as a closed trade, and a losing one as not winning", () => {
    const frame = { ...barsFrame(0, 0), fills: [fill("buy", 1, -4)] };
    const next = applyFrame(stats(), -1, frame, 10);
    expect(next).toMatchObject({ closed_trades: 1, winning_trades: 0 });
  });

  it("follows equity, peak and drawdowns, and the cursor's progress", () => {
    const frame = barsFrame(0, 2);
    frame.equity.equity = [1_100, 1_200, 1_080];
    frame.equity.drawdown = [0, 0, -0.1];
    const next = applyFrame(stats({ max_drawdown: -0.05 }), 0, frame, 12);
    expect(next.equity).toBe(1_080);
    expect(next.peak_equity).toBe(1_200);
    expect(next.drawdown).toBe(-0.1);
    expect(next.max_drawdown).toBe(-0.1);
    expect(next.total_return).toBeCloseTo(0.08);
    expect(next.bars_played).toBe(3);
    expect(next.progress).toBe(0.25);
  });
});
