// Fills → round-trip trades: a trade opens when the position leaves zero and closes when it comes back to zero
// (a fill that reverses the position closes one trade and opens the next with what is left over).
import type { Order } from "@/api/types";

export interface RoundTrip {
  /** 1-based, in time order. */
  number: number;
  side: "long" | "short";
  entryTime: number;
  /** null while the trade is still open at the run's end. */
  exitTime: number | null;
  /** The largest position held, in units. */
  size: number;
  /** Size-weighted prices of the fills that opened and closed it. */
  entryPrice: number;
  exitPrice: number | null;
  /** Realised PnL of its closing fills, net of every fee paid on it. */
  pnl: number;
  /** PnL against the money put in at entry (entry price × size). */
  return: number;
  fees: number;
  fills: number;
}

interface Open {
  side: "long" | "short";
  entryTime: number;
  size: number;
  entryValue: number;
  entryQty: number;
  exitValue: number;
  exitQty: number;
  exitTime: number | null;
  realized: number;
  fees: number;
  fills: number;
}

const EPSILON = 1e-9;

function close(open: Open, number: number): RoundTrip {
  const entryPrice = open.entryValue / open.entryQty;
  const pnl = open.realized - open.fees;
  return {
    number, side: open.side, entryTime: open.entryTime, exitTime: open.exitTime, size: open.size, entryPrice,
    exitPrice: open.exitQty > 0 ? open.exitValue / open.exitQty : null, pnl,
    return: entryPrice * open.size > 0 ? pnl / (entryPrice * open.size) : 0, fees: open.fees, fills: open.fills,
  };
}

export function roundTrips(orders: readonly Order[]): RoundTrip[] {
  const trades: RoundTrip[] = [];
  let position = 0;
  let open: Open | null = null;
  for (const order of orders) {
    const signed = order.side === "buy" ? order.quantity : -order.quantity;
    const before = position;
    position += signed;
    if (Math.abs(position) < EPSILON) position = 0;
    // The part of this fill that reduces the position, and the part (if any) that opens a new one.
    const closing = before !== 0 && Math.sign(signed) !== Math.sign(before) ? Math.min(Math.abs(signed), Math.abs(before)) : 0;
    const opening = Math.abs(signed) - closing;
    const feeShare = order.quantity > 0 ? order.fee / order.quantity : 0;
    if (open !== null && closing > 0) {
      open.exitValue += order.price * closing;
      open.exitQty += closing;
      open.exitTime = order.time;
      open.realized += order.realized_pnl;
      open.fees += feeShare * closing;
      open.fills += 1;
      if (position === 0 || Math.sign(position) !== Math.sign(before)) {
        trades.push(close(open, trades.length + 1));
        open = null;
      }
    }
    if (opening > EPSILON) {
      if (open === null) {
        open = { side: signed > 0 ? "long" : "short", entryTime: order.time, size: 0, entryValue: 0, entryQty: 0,
          exitValue: 0, exitQty: 0, exitTime: null, realized: 0, fees: 0, fills: 0 };
      }
      open.entryValue += order.price * opening;
      open.entryQty += opening;
      open.fees += feeShare * opening;
      if (closing === 0) open.fills += 1;
      open.size = Math.max(open.size, Math.abs(position));
    }
  }
  if (open !== null) {
    open.exitTime = null;
    trades.push(close(open, trades.length + 1));
  }
  return trades;
}
