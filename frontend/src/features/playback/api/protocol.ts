// Message types of both playback sockets, from the generated contracts, and the events the page consumes.
//
// The shared stream (`/api/v1/runs/{id}/stream`, docs/stream.md) wraps the backend's playback messages
// (`/backtests/{id}/ws`, docs/playback.md) in an envelope of epoch and offset. Both connections turn what they
// receive into the same `PlaybackEvent`s, so the page does not care which path it watches through.
import type { components as Backend } from "@/api/generated/playback-schema";
import type { components as Stream } from "@/api/generated/stream-schema";
import type { ConnectionState } from "./reconnecting-socket";

// `presence` (the viewer count changed) and `broker` (this api node lost or regained Redis) are addressed to the
// viewer like a heartbeat: they carry the offset already reached and move nothing forward.
export type StreamMessage = Stream["schemas"]["StreamMessage"];
export type BackendMessage = Backend["schemas"]["PlaybackMessage"];
export type PlaybackState = Backend["schemas"]["PlaybackState"];
export type PlaybackStats = Backend["schemas"]["PlaybackStats"];
export type FillEvent = Backend["schemas"]["FillEvent"];
export type ResetCause = Stream["schemas"]["ResetCause"];

/** A keyframe's content, whichever socket sent it. */
export type SnapshotData = Omit<Backend["schemas"]["Snapshot"], "type">;
/** A frame's content: bars, equity and fills since the previous message. */
export type FrameData = Omit<Backend["schemas"]["Frame"], "type" | "seq">;

/** The controls a viewer may send (auth goes first, on its own). */
export type PlaybackControl =
  | { type: "play" }
  | { type: "pause" }
  | { type: "speed"; value: number }
  | { type: "seek"; cursor: number }
  | { type: "seek"; time: number }
  | { type: "step"; bars: number };

export type PlaybackEvent =
  | { type: "connection"; state: ConnectionState }
  | { type: "hello"; mode: "shared" | "direct"; clientId: string; canControl: boolean; viewers: number;
      degraded: boolean; resume: "fresh" | "recovered" | "reset" }
  /** `reset`: rebuild the view from this snapshot (history before its cursor comes from REST). */
  | { type: "snapshot"; snapshot: SnapshotData; reset: boolean; cause: ResetCause | null }
  | { type: "frame"; frame: FrameData }
  | { type: "status"; state: PlaybackState; speed: number; reason: string; cursor: number; time: number | null }
  | { type: "end"; totalBars: number; stats: PlaybackStats; cursor: number; time: number | null }
  | { type: "upstream"; state: "lost" | "resumed"; reason: string }
  | { type: "skipped"; count: number; fromOffset: number; toOffset: number }
  | { type: "heartbeat"; viewers: number }
  /** The number of people watching the run changed. */
  | { type: "presence"; viewers: number }
  /** Totals of messages this connection found out of order: each gap made it reconnect, each repeat was dropped. */
  | { type: "continuity"; gaps: number; duplicates: number }
  | { type: "error"; code: string; message: string; ref: string | null };

export type PlaybackListener = (event: PlaybackEvent) => void;

/** A playback connection of either kind. */
export interface PlaybackConnection {
  readonly mode: "shared" | "direct";
  start(): void;
  /** Sends a control; returns its `ref` (echoed by an error answering it), or null when not connected. */
  send(control: PlaybackControl): string | null;
  subscribe(listener: PlaybackListener): () => void;
  close(): void;
}

export function wsUrl(httpUrl: string): string {
  return httpUrl.replace(/^http/, "ws");
}
