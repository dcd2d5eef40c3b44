// What both playback connections share: listeners, controls numbered with a `ref`, and the reconnecting
// socket's lifetime. Each subclass makes the socket for its protocol and turns its messages into events.
import type { BackoffPolicy } from "./backoff";
import type { Continuity } from "./continuity";
import type { PlaybackConnection, PlaybackControl, PlaybackEvent, PlaybackListener } from "./protocol";
import { ReconnectingSocket, type ReconnectingSocketOptions, type SocketFactory } from "./reconnecting-socket";

/** Options of either connection; tests pass a fake socket factory, a fixed random and a short backoff. */
export interface SocketOptions {
  runId: string;
  token: string;
  socketFactory?: SocketFactory;
  random?: () => number;
  backoff?: BackoffPolicy;
}

type ProtocolHooks = Pick<ReconnectingSocketOptions, "url" | "idleTimeoutMs" | "onMessage" | "onState">;

/** Whether a parsed message has what every message of its protocol carries: a `type` and a numeric `position`
 * (the backend's `cursor`, the stream's `offset`). Anything else is ignored. */
export function isProtocolMessage<T>(value: unknown, position: "cursor" | "offset"): value is T {
  if (typeof value !== "object" || value === null) return false;
  const record = value as Record<string, unknown>;
  return typeof record.type === "string" && typeof record[position] === "number";
}

export function reconnectingSocket(options: SocketOptions, hooks: ProtocolHooks): ReconnectingSocket {
  return new ReconnectingSocket({ token: options.token, socketFactory: options.socketFactory,
    random: options.random, backoff: options.backoff, ...hooks });
}

export abstract class SocketPlaybackConnection implements PlaybackConnection {
  abstract readonly mode: "shared" | "direct";
  protected abstract readonly socket: ReconnectingSocket;
  private readonly listeners = new Set<PlaybackListener>();
  private refCounter = 0;
  private readonly outOfOrder = { gaps: 0, duplicates: 0 };

  start(): void {
    this.socket.start();
  }

  close(): void {
    this.socket.close();
  }

  subscribe(listener: PlaybackListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  send(control: PlaybackControl): string | null {
    this.refCounter += 1;
    const ref = `c${this.refCounter}`;
    return this.socket.send({ ...control, ref }) ? ref : null;
  }

  /** Count a message that did not follow the last one; the page shows the totals, so a drop that was not
   * resumed cleanly can be seen (and a browser test can assert that none happened). */
  protected countOutOfOrder(kind: Exclude<Continuity, "accept">): void {
    if (kind === "gap") this.outOfOrder.gaps += 1;
    else this.outOfOrder.duplicates += 1;
    this.emit({ type: "continuity", ...this.outOfOrder });
  }

  protected emit(event: PlaybackEvent): void {
    for (const listener of this.listeners) listener(event);
  }
}
