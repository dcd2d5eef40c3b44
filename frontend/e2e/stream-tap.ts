// The page's shared-stream sockets, seen from outside the app. Every socket the page opens to
// `/api/v1/runs/{id}/stream` goes through Playwright's WebSocket route to the real api, so a test can read
// what the page was sent and asked for, hold a reconnect as a network that is still down would, and drop a
// connection the way a network does: messages stop arriving, then the browser reports an abnormal closure
// (1006, no reason). The app is told nothing that a real drop would not tell it.
import { expect, type Page, type WebSocketRoute } from "@playwright/test";

const STREAM_URL = /\/api\/v1\/runs\/[^/?]+\/stream(\?|$)/;
const PUBLISHED = new Set(["snapshot", "frame", "status", "end", "upstream"]);
// What a browser reports when the connection dropped without a closing handshake.
const ABNORMAL_CLOSURE = 1006;

/** The envelope of a stream message (docs/stream.md): all the tests need, and nothing of its content. */
export interface Envelope {
  type: string;
  epoch: string | null;
  offset: number;
  resume: string | null;
}

export function isPublished(message: Envelope): boolean {
  return PUBLISHED.has(message.type);
}

function envelope(raw: string | Buffer): Envelope {
  const message = JSON.parse(raw.toString()) as Record<string, unknown>;
  return {
    type: String(message.type),
    epoch: typeof message.epoch === "string" ? message.epoch : null,
    offset: Number(message.offset),
    resume: typeof message.resume === "string" ? message.resume : null,
  };
}

/** One socket the page opened: its URL, what it was sent, and a way to drop it. */
export class TappedSocket {
  readonly url: URL;
  /** Messages passed on to the page, in order. */
  readonly delivered: Envelope[] = [];
  /** Messages the api sent after the link went dark: the page never saw them. */
  readonly lost: Envelope[] = [];
  /** The type of the page's first message; its token is passed on and never kept. */
  firstFromPage: string | null = null;
  connected = false;
  private server: WebSocketRoute | null = null;
  private dark = false;
  private dropped = false;

  constructor(private readonly route: WebSocketRoute) {
    this.url = new URL(route.url());
  }

  /** The resume point the page sent in the URL (null: it joined afresh). */
  get resumePoint(): { epoch: string | null; offset: number } | null {
    const offset = this.url.searchParams.get("offset");
    return offset === null ? null : { epoch: this.url.searchParams.get("epoch"), offset: Number(offset) };
  }

  /** The last message the page received on this socket (its own resume point, by the protocol). */
  get lastDelivered(): Envelope {
    const last = this.delivered.at(-1);
    if (!last) throw new Error(`nothing was delivered on ${this.url.pathname}`);
    return last;
  }

  connect(): void {
    const server = this.route.connectToServer();
    this.server = server;
    this.connected = true;
    server.onMessage((message) => {
      const received = envelope(message);
      if (this.dark) {
        this.lost.push(received);
        return;
      }
      this.delivered.push(received);
      this.route.send(message);
    });
    this.route.onMessage((message) => {
      if (this.firstFromPage === null) this.firstFromPage = envelope(message).type;
      server.send(message);
    });
    // The app closing its socket (leaving the page, or reconnecting after a gap) reaches the api as it would.
    this.route.onClose((code, reason) => {
      if (!this.dropped) void server.close(code === undefined ? {} : { code, reason });
    });
  }

  /**
   * The network drops: nothing more reaches the page, and once the api sent `lose` published messages into
   * the void, the browser gives up on the connection (1006) and the api's side is closed too.
   */
  async drop(lose = 0): Promise<void> {
    if (!this.server) throw new Error("the socket was never connected");
    this.dark = true;
    await expect.poll(() => this.lost.filter(isPublished).length, { message: "messages sent into the dropped link" })
      .toBeGreaterThanOrEqual(lose);
    this.dropped = true;
    await this.route.close({ code: ABNORMAL_CLOSURE });
    await this.server.close();
  }
}

/** Every stream socket of one page, in the order the page opened them. */
export class StreamTap {
  readonly sockets: TappedSocket[] = [];
  private gate: Promise<void> = Promise.resolve();
  private openGate: () => void = () => undefined;

  static async attach(page: Page): Promise<StreamTap> {
    const tap = new StreamTap();
    await page.routeWebSocket(STREAM_URL, (route) => tap.handle(route));
    return tap;
  }

  get current(): TappedSocket {
    const socket = this.sockets.at(-1);
    if (!socket) throw new Error("the page opened no stream socket");
    return socket;
  }

  /** Connection attempts from now on wait, still connecting, until `release` (the network is still down). */
  hold(): void {
    this.gate = new Promise((open) => {
      this.openGate = open;
    });
  }

  release(): void {
    this.openGate();
    this.gate = Promise.resolve();
  }

  private async handle(route: WebSocketRoute): Promise<void> {
    const socket = new TappedSocket(route);
    this.sockets.push(socket);
    await this.gate;
    socket.connect();
  }
}
