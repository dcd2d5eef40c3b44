// A WebSocket stand-in for unit tests: records what the client sends and lets a test play the server.
import type { PlaybackConnection, PlaybackEvent } from "@/features/playback/api/protocol";
import type { SocketFactory, SocketLike } from "@/features/playback/api/reconnecting-socket";

export class FakeSocket implements SocketLike {
  onopen: ((event: unknown) => void) | null = null;
  onmessage: ((event: { data: unknown }) => void) | null = null;
  onclose: ((event: { code: number; reason: string }) => void) | null = null;
  onerror: ((event: unknown) => void) | null = null;
  readonly sent: unknown[] = [];
  closedWith: { code?: number; reason?: string } | null = null;

  constructor(readonly url: string) {}

  send(data: string): void {
    this.sent.push(JSON.parse(data));
  }

  close(code?: number, reason?: string): void {
    this.closedWith = { code, reason };
  }

  /** The server accepted the connection. */
  open(): void {
    this.onopen?.({});
  }

  /** The server sent a message. */
  receive(message: object): void {
    this.onmessage?.({ data: JSON.stringify(message) });
  }

  receiveRaw(data: string): void {
    this.onmessage?.({ data });
  }

  /** The server (or the network) closed the connection. */
  drop(code: number, reason = ""): void {
    this.onclose?.({ code, reason });
  }
}

export function fakeSockets(): { sockets: FakeSocket[]; factory: SocketFactory; last: () => FakeSocket } {
  const sockets: FakeSocket[] = [];
  return {
    sockets,
    factory: (url) => {
      const socket = new FakeSocket(url);
      sockets.push(socket);
      return socket;
    },
    last: () => {
      const socket = sockets.at(-1);
      if (!socket) throw new Error("no socket was opened");
      return socket;
    },
  };
}

/** A playback connection made on fake sockets and started, with every event it emits recorded in order. */
export function watchConnection<C extends PlaybackConnection>(make: (socketFactory: SocketFactory) => C) {
  const sockets = fakeSockets();
  const events: PlaybackEvent[] = [];
  const connection = make(sockets.factory);
  connection.subscribe((event) => events.push(event));
  connection.start();
  return { sockets, events, connection };
}
