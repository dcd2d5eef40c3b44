// One logical connection over as many WebSockets as it takes: authenticates with the first message, watches
// for silence, and reconnects with backoff and jitter after a drop, unless the close code says retrying cannot
// help. Which URL each attempt opens (and so where it resumes) is the protocol's business, asked per attempt.
import { backoffDelay, DEFAULT_BACKOFF, type BackoffPolicy } from "./backoff";
import { describeClose, shouldReconnect, UNAUTHORIZED } from "./close-codes";

/** The part of the browser's WebSocket this needs (a fake in tests). */
export interface SocketLike {
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: { code: number; reason: string }) => void) | null;
  onerror: ((event: unknown) => void) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}

export type SocketFactory = (url: string) => SocketLike;

/** The browser's WebSocket behind the SocketLike interface. */
export function browserSocket(url: string): SocketLike {
  const ws = new WebSocket(url);
  const socket: SocketLike = {
    onopen: null, onmessage: null, onclose: null, onerror: null,
    send: (data) => ws.send(data),
    close: (code, reason) => ws.close(code, reason),
  };
  ws.onopen = (event) => socket.onopen?.(event);
  ws.onmessage = (event) => socket.onmessage?.({ data: event.data });
  ws.onclose = (event) => socket.onclose?.({ code: event.code, reason: event.reason });
  ws.onerror = (event) => socket.onerror?.(event);
  return socket;
}

export type ConnectionState =
  | { kind: "connecting"; attempt: number }
  | { kind: "open" }
  | { kind: "reconnecting"; attempt: number; delayMs: number; reason: string }
  | { kind: "closed"; code: number; reason: string; unauthorized: boolean };

export interface ReconnectingSocketOptions {
  /** The URL of the next attempt (it carries the resume point). */
  url: () => string;
  token: string;
  onMessage: (message: unknown) => void;
  onState: (state: ConnectionState) => void;
  socketFactory?: SocketFactory;
  backoff?: BackoffPolicy;
  random?: () => number;
  /** Reconnect when nothing arrived for this long (a server heartbeat is due well before); null: never. */
  idleTimeoutMs?: number | null;
  /** Give up an attempt whose handshake has not completed in this long, and try again; null: never. A network
   * that drops packets silently would otherwise leave the attempt hanging until the browser's TCP timeout. */
  connectTimeoutMs?: number | null;
}

export const CONNECT_TIMEOUT_MS = 10_000;

// A close code of ours in the application range, so the server can tell why the client hung up.
const CLIENT_RECONNECT_CODE = 4000;

export class ReconnectingSocket {
  private socket: SocketLike | null = null;
  private opened = false;
  private attempt = 0;
  private stopped = false;
  private reconnectTimer: ReturnType<typeof setTimeout> | null = null;
  // Fires when the socket has been silent for too long: the handshake (connect timeout) or, once open, the
  // stream (idle timeout). One timer, because a socket is only ever waiting for one of the two.
  private watchdog: ReturnType<typeof setTimeout> | null = null;
  private readonly factory: SocketFactory;
  private readonly backoff: BackoffPolicy;
  private readonly random: () => number;

  constructor(private readonly options: ReconnectingSocketOptions) {
    this.factory = options.socketFactory ?? browserSocket;
    this.backoff = options.backoff ?? DEFAULT_BACKOFF;
    this.random = options.random ?? Math.random;
  }

  start(): void {
    this.stopped = false;
    this.connect();
  }

  send(message: object): boolean {
    if (!this.socket || !this.opened) return false;
    this.socket.send(JSON.stringify(message));
    return true;
  }

  /** Drop this socket and connect again (the protocol found it cannot trust what it received). */
  reconnectNow(reason: string): void {
    if (this.stopped) return;
    this.drop(reason);
    this.clearReconnect();
    this.scheduleReconnect(reason);
  }

  /** Close for good: no reconnect, no further events. */
  close(): void {
    this.stopped = true;
    this.clearReconnect();
    this.clearWatchdog();
    const socket = this.socket;
    this.detach();
    socket?.close(1000, "viewer left");
  }

  private connect(): void {
    this.options.onState({ kind: "connecting", attempt: this.attempt });
    const socket = this.factory(this.options.url());
    this.socket = socket;
    this.opened = false;
    const connectTimeout = this.options.connectTimeoutMs === undefined ? CONNECT_TIMEOUT_MS
      : this.options.connectTimeoutMs;
    this.armWatchdog(connectTimeout, `could not connect within ${Math.round((connectTimeout ?? 0) / 1000)} s`);
    socket.onopen = () => {
      if (socket !== this.socket) return;
      this.opened = true;
      // Browsers cannot set headers on a WebSocket: the token goes first, never in the URL.
      socket.send(JSON.stringify({ type: "auth", token: this.options.token }));
      this.options.onState({ kind: "open" });
      this.armIdle();
    };
    socket.onmessage = (event) => {
      if (socket !== this.socket) return;
      this.armIdle();
      this.attempt = 0; // the server talks to us: the next drop starts the backoff afresh
      let message: unknown;
      try {
        message = JSON.parse(typeof event.data === "string" ? event.data : "");
      } catch {
        this.reconnectNow("the server sent something that is not JSON");
        return;
      }
      this.options.onMessage(message);
    };
    socket.onerror = () => {
      // A close event always follows; that is where the decision is made.
    };
    socket.onclose = (event) => {
      if (socket !== this.socket) return;
      this.detach();
      this.clearWatchdog();
      if (this.stopped) return;
      if (shouldReconnect(event.code)) {
        this.scheduleReconnect(describeClose(event.code, event.reason));
      } else {
        this.stopped = true;
        this.options.onState({ kind: "closed", code: event.code, reason: describeClose(event.code, event.reason),
          unauthorized: event.code === UNAUTHORIZED });
      }
    };
  }

  private scheduleReconnect(reason: string): void {
    const delayMs = backoffDelay(this.attempt, this.backoff, this.random);
    this.attempt += 1;
    this.options.onState({ kind: "reconnecting", attempt: this.attempt, delayMs, reason });
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      if (!this.stopped) this.connect();
    }, delayMs);
  }

  /** Stop listening to the current socket and close it; what it still says is ignored. */
  private drop(reason: string): void {
    const socket = this.socket;
    this.detach();
    this.clearWatchdog();
    socket?.close(CLIENT_RECONNECT_CODE, reason.slice(0, 100));
  }

  private detach(): void {
    if (this.socket) {
      this.socket.onopen = null;
      this.socket.onmessage = null;
      this.socket.onclose = null;
      this.socket.onerror = null;
    }
    this.socket = null;
    this.opened = false;
  }

  private armIdle(): void {
    const timeout = this.options.idleTimeoutMs;
    this.armWatchdog(timeout, `nothing received for ${Math.round((timeout ?? 0) / 1000)} s`);
  }

  /** Drop the socket and reconnect if it stays silent for ``timeoutMs`` (null or undefined: never). */
  private armWatchdog(timeoutMs: number | null | undefined, reason: string): void {
    this.clearWatchdog();
    if (timeoutMs === null || timeoutMs === undefined) return;
    this.watchdog = setTimeout(() => {
      this.watchdog = null;
      if (this.stopped) return;
      this.drop(reason);
      this.scheduleReconnect(reason);
    }, timeoutMs);
  }

  private clearWatchdog(): void {
    if (this.watchdog !== null) clearTimeout(this.watchdog);
    this.watchdog = null;
  }

  private clearReconnect(): void {
    if (this.reconnectTimer !== null) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
  }
}
