// The backend's own playback socket, `WS /backtests/{id}/ws` (docs/playback.md): a private playback for this
// viewer alone, the path the app falls back to when the api's shared stream is switched off. The viewer
// controls it. A reconnect starts a new backend playback exactly after the last bar received
// (`?cursor=&state=&speed=`), which is how the relay resumes too.
import { wsUrl, type BackendMessage, type PlaybackState } from "./protocol";
import type { ReconnectingSocket } from "./reconnecting-socket";
import {
  isProtocolMessage, reconnectingSocket, SocketPlaybackConnection, type SocketOptions,
} from "./socket-connection";

export interface DirectPlaybackOptions extends SocketOptions {
  /** The backend's http(s) URL as the browser reaches it. */
  backendUrl: string;
}

export class DirectPlaybackConnection extends SocketPlaybackConnection {
  readonly mode = "direct";
  protected readonly socket: ReconnectingSocket;
  // What a reconnect continues from: the last bar received, and whether it was playing, at which speed.
  private cursor: number | null = null;
  private state: PlaybackState = "paused";
  private speed: number | null = null;
  // Frame numbers restart at 0 on every connection; a jump means a lost frame.
  private nextSeq = 0;
  private freshConnection = true;

  constructor(private readonly options: DirectPlaybackOptions) {
    super();
    this.socket = reconnectingSocket(options, {
      url: () => this.url(),
      // The backend is silent while paused: silence is no sign of a dead link here.
      idleTimeoutMs: null,
      onMessage: (message) => this.receive(message),
      onState: (state) => {
        if (state.kind === "connecting") {
          this.freshConnection = true;
          this.nextSeq = 0;
        }
        this.emit({ type: "connection", state });
      },
    });
  }

  url(): string {
    const base = `${wsUrl(this.options.backendUrl).replace(/\/$/, "")}/backtests/${encodeURIComponent(this.options.runId)}/ws`;
    if (this.cursor === null) return base;
    const params = new URLSearchParams({ cursor: String(this.cursor), state: this.state === "playing" ? "playing" : "paused" });
    if (this.speed !== null) params.set("speed", String(this.speed));
    return `${base}?${params.toString()}`;
  }


  private receive(raw: unknown): void {
    if (!isProtocolMessage<BackendMessage>(raw, "cursor")) return;
    switch (raw.type) {
      case "snapshot": {
        const first = this.freshConnection;
        if (first) {
          this.freshConnection = false;
          this.emit({ type: "hello", mode: "direct", clientId: "direct", canControl: true, viewers: 1,
            degraded: false, resume: this.cursor === null ? "fresh" : "recovered" });
        }
        // A keyframe at the cursor the view is at changes nothing; any other snapshot rebuilds the view.
        const reset = raw.cursor !== this.cursor || this.cursor === null;
        const cause = !reset ? null : first ? "connect" : "seek";
        this.track(raw.cursor, raw.state, raw.speed);
        this.emit({ type: "snapshot", snapshot: raw, reset, cause });
        return;
      }
      case "frame":
        if (raw.seq !== this.nextSeq) {
          this.countOutOfOrder(raw.seq < this.nextSeq ? "duplicate" : "gap");
          this.socket.reconnectNow(`frame ${this.nextSeq} was lost`);
          return;
        }
        this.nextSeq += 1;
        this.track(raw.cursor, null, null);
        this.emit({ type: "frame", frame: raw });
        return;
      case "status":
        this.track(raw.cursor, raw.state, raw.speed);
        this.emit({ type: "status", state: raw.state, speed: raw.speed, reason: raw.reason, cursor: raw.cursor,
          time: raw.time });
        return;
      case "end":
        this.track(raw.cursor, "ended", null);
        this.emit({ type: "end", totalBars: raw.total_bars, stats: raw.stats, cursor: raw.cursor, time: raw.time });
        return;
      case "error":
        this.emit({ type: "error", code: raw.code, message: raw.message, ref: raw.ref ?? null });
        return;
    }
  }

  private track(cursor: number, state: PlaybackState | null, speed: number | null): void {
    this.cursor = cursor;
    if (state !== null) this.state = state;
    if (speed !== null) this.speed = speed;
  }
}
