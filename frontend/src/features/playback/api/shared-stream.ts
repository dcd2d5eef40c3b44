// The shared playback stream: `WS /api/v1/runs/{id}/stream` (docs/stream.md). Everyone watching a run sees
// the same playback; a reconnect resumes from the last offset received, and the server either replays what
// was missed or says it cannot (a reset snapshot), so the view never silently skips or repeats a bar.
import { advance, checkContinuity, type ResumePoint } from "./continuity";
import { wsUrl, type PlaybackEvent, type StreamMessage } from "./protocol";
import type { ReconnectingSocket } from "./reconnecting-socket";
import {
  isProtocolMessage, reconnectingSocket, SocketPlaybackConnection, type SocketOptions,
} from "./socket-connection";

// The api sends a heartbeat every 5 s while nothing else flows; three missed ones mean the link is dead.
export const STREAM_IDLE_TIMEOUT_MS = 15_000;

export interface SharedStreamOptions extends SocketOptions {
  /** The api's http(s) origin, e.g. `http://127.0.0.1:8001`. */
  apiOrigin: string;
  idleTimeoutMs?: number | null;
}

export class SharedStreamConnection extends SocketPlaybackConnection {
  readonly mode = "shared";
  protected readonly socket: ReconnectingSocket;
  private reached: ResumePoint | null = null;
  // A degraded (private, direct) playback cannot be resumed: its reconnect starts afresh.
  private degraded = false;

  constructor(private readonly options: SharedStreamOptions) {
    super();
    this.socket = reconnectingSocket(options, {
      url: () => this.url(),
      idleTimeoutMs: options.idleTimeoutMs === undefined ? STREAM_IDLE_TIMEOUT_MS : options.idleTimeoutMs,
      onMessage: (message) => this.receive(message),
      onState: (state) => this.emit({ type: "connection", state }),
    });
  }

  /** The point a reconnect resumes from (the last message received). */
  get resumePoint(): ResumePoint | null {
    return this.reached;
  }

  url(): string {
    const run = encodeURIComponent(this.options.runId);
    const base = `${wsUrl(this.options.apiOrigin)}/api/v1/runs/${run}/stream`;
    const point = this.reached;
    if (point === null || point.epoch === null || this.degraded) return base;
    return `${base}?epoch=${encodeURIComponent(point.epoch)}&offset=${point.offset}`;
  }


  private receive(raw: unknown): void {
    if (!isProtocolMessage<StreamMessage>(raw, "offset")) return;
    const continuity = checkContinuity(this.reached, raw);
    if (continuity !== "accept") this.countOutOfOrder(continuity);
    if (continuity === "duplicate") return;
    if (continuity === "gap") {
      // Resume from the last message we trust: the server replays the rest or resets us.
      this.socket.reconnectNow(`offset ${raw.offset} does not follow ${this.reached?.offset ?? "nothing"}`);
      return;
    }
    this.reached = advance(this.reached, raw);
    if (raw.type === "hello") this.degraded = raw.degraded;
    this.emit(toEvent(raw));
  }
}

function toEvent(message: StreamMessage): PlaybackEvent {
  switch (message.type) {
    case "hello":
      return { type: "hello", mode: "shared", clientId: message.client_id, canControl: message.can_control,
        viewers: message.viewers, degraded: message.degraded, resume: message.resume };
    case "snapshot":
      return { type: "snapshot", snapshot: message, reset: message.kind === "reset", cause: message.cause };
    case "frame":
      return { type: "frame", frame: message };
    case "status":
      return { type: "status", state: message.state, speed: message.speed, reason: message.reason,
        cursor: message.cursor, time: message.time };
    case "end":
      return { type: "end", totalBars: message.total_bars, stats: message.stats, cursor: message.cursor,
        time: message.time };
    case "upstream":
    case "broker":
      // The relay's backend connection, or this api node's Redis: either way the stream pauses and resumes.
      return { type: "upstream", state: message.state, reason: message.reason };
    case "skipped":
      return { type: "skipped", count: message.count, fromOffset: message.from_offset, toOffset: message.to_offset };
    case "heartbeat":
    case "presence":
      return { type: "heartbeat", viewers: message.viewers };
    case "error":
      return { type: "error", code: message.code, message: message.message, ref: message.ref };
  }
}
