// Statistics as of the cursor, carried forward frame by frame between the server's snapshots (which say the
// same thing with authority every 2 s), using the backend's definitions (docs/playback.md).
import type { FrameData, PlaybackStats } from "../api/protocol";

export function applyFrame(stats: PlaybackStats, positionBefore: number, frame: FrameData,
  totalBars: number): PlaybackStats {
  const next = { ...stats };
  let position = positionBefore;
  for (const fill of frame.fills) {
    const delta = fill.side === "buy" ? fill.quantity : -fill.quantity;
    // A fill against the position reduces, closes or reverses it: that is a closed trade.
    if (position !== 0 && Math.sign(delta) !== Math.sign(position)) {
      next.closed_trades += 1;
      if (fill.realized_pnl > 0) next.winning_trades += 1;
    }
    position += delta;
    next.fills += 1;
    next.fees += fill.fee;
    next.realized_pnl += fill.realized_pnl;
  }
  const n = frame.equity.equity.length;
  for (let i = 0; i < n; i += 1) {
    const equity = frame.equity.equity[i] ?? next.equity;
    next.peak_equity = Math.max(next.peak_equity, equity);
    next.max_drawdown = Math.min(next.max_drawdown, frame.equity.drawdown[i] ?? 0);
  }
  if (n > 0) {
    next.equity = frame.equity.equity[n - 1] ?? next.equity;
    next.drawdown = frame.equity.drawdown[n - 1] ?? next.drawdown;
  }
  next.total_return = next.initial_cash > 0 ? next.equity / next.initial_cash - 1 : 0;
  next.bars_played = frame.cursor + 1;
  next.progress = totalBars > 0 ? next.bars_played / totalBars : 1;
  return next;
}
