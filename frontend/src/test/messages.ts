// Shared-stream and backend playback messages for unit tests, complete as the protocol defines them.
import type { components as Backend } from "@/api/generated/playback-schema";
import type { components as Stream } from "@/api/generated/stream-schema";

type S = Stream["schemas"];
type B = Backend["schemas"];

export const RUN = "run1";

export function stats(overrides: Partial<B["PlaybackStats"]> = {}): B["PlaybackStats"] {
  return {
    bars_played: 0, progress: 0, initial_cash: 1000, equity: 1000, total_return: 0, peak_equity: 1000, drawdown: 0,
    max_drawdown: 0, fills: 0, closed_trades: 0, winning_trades: 0, realized_pnl: 0, fees: 0, ...overrides,
  };
}

export function hello(offset: number, epoch: string | null = "e1", overrides: Partial<S["Hello"]> = {}): S["Hello"] {
  return { type: "hello", run_id: RUN, client_id: "v1", can_control: true, viewers: 2, degraded: false,
    resume: "fresh", epoch, offset, ...overrides };
}

export function snapshot(offset: number, cursor: number, overrides: Partial<S["StreamSnapshot"]> = {}): S["StreamSnapshot"] {
  return {
    type: "snapshot", run_id: RUN, epoch: "e1", offset, ts: 1, kind: "reset", cause: "connect", cursor,
    time: cursor < 0 ? null : 1_000 + cursor * 60, state: "paused", speed: 10, total_bars: 100, position: 0,
    cash: 1000, equity: 1000, bar: null, stats: stats({ bars_played: cursor + 1 }), ...overrides,
  };
}

/** A frame carrying bars `from..to` (inclusive), one minute apart, closing at 100 + index. */
export function barsFrame(from: number, to: number) {
  const indexes = Array.from({ length: to - from + 1 }, (_, i) => from + i);
  const time = indexes.map((i) => 1_000 + i * 60);
  const close = indexes.map((i) => 100 + i);
  return {
    run_id: RUN, cursor: to, time: time.at(-1) ?? null,
    bars: { time, open: close, high: close.map((c) => c + 1), low: close.map((c) => c - 1), close, volume: close.map(() => 1) },
    equity: { time, equity: close.map((c) => 1_000 + c), drawdown: close.map(() => 0) },
    fills: [] as B["FillEvent"][],
    position: 0,
    cash: 1000,
  };
}

export function frame(offset: number, from: number, to: number, epoch = "e1"): S["StreamFrame"] {
  return { type: "frame", epoch, offset, ts: 1, ...barsFrame(from, to) };
}

export function heartbeat(offset: number, viewers = 3): S["Heartbeat"] {
  return { type: "heartbeat", epoch: "e1", offset, ts: 1, viewers };
}

export function presence(offset: number, viewers: number): S["Presence"] {
  return { type: "presence", epoch: "e1", offset, ts: 1, viewers };
}

export function skipped(offset: number, count: number): S["Skipped"] {
  return { type: "skipped", epoch: "e1", offset, count, from_offset: offset + 1, to_offset: offset + count };
}

export function backendSnapshot(cursor: number, overrides: Partial<B["Snapshot"]> = {}): B["Snapshot"] {
  return { type: "snapshot", run_id: RUN, cursor, time: cursor < 0 ? null : 1_000 + cursor * 60, state: "paused",
    speed: 10, total_bars: 100, position: 0, cash: 1000, equity: 1000, bar: null, stats: stats(), ...overrides };
}

export function backendFrame(seq: number, from: number, to: number): B["Frame"] {
  return { type: "frame", seq, ...barsFrame(from, to) };
}
