import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { watchConnection } from "@/test/fake-socket";
import { frame, heartbeat, hello, presence, RUN, skipped, snapshot } from "@/test/messages";
import type { PlaybackEvent } from "./protocol";
import { CONNECT_TIMEOUT_MS } from "./reconnecting-socket";
import { SharedStreamConnection, STREAM_IDLE_TIMEOUT_MS } from "./shared-stream";

const BACKOFF = { minMs: 100, baseMs: 500, maxMs: 8_000 };

function setup(random = () => 0.5) {
  const s = watchConnection((socketFactory) => new SharedStreamConnection({
    apiOrigin: "http://api.test", runId: RUN, token: "hw_token", socketFactory, random, backoff: BACKOFF,
  }));
  const of = <T extends PlaybackEvent["type"]>(type: T) =>
    s.events.filter((e): e is Extract<PlaybackEvent, { type: T }> => e.type === type);
  return { ...s, of };
}

/** Open the latest socket and play the start of a stream: hello, reset snapshot, frames 2..n. */
function joinAndPlay(s: ReturnType<typeof setup>, frames: number) {
  const socket = s.sockets.last();
  socket.open();
  socket.receive(hello(0));
  socket.receive(snapshot(1, -1));
  for (let i = 0; i < frames; i += 1) socket.receive(frame(2 + i, i, i));
  return socket;
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe("shared stream connection", () => {
  it("authenticates with the first message and never puts the token in the URL", () => {
    const s = setup();
    const socket = s.sockets.last();
    expect(socket.url).toBe(`ws://api.test/api/v1/runs/${RUN}/stream`);
    socket.open();
    expect(socket.sent[0]).toEqual({ type: "auth", token: "hw_token" });
    expect(socket.url).not.toContain("hw_token");
  });

  it("passes hello, the reset snapshot and frames on as events", () => {
    const s = setup();
    joinAndPlay(s, 2);
    expect(s.of("hello")[0]).toMatchObject({ canControl: true, viewers: 2, mode: "shared" });
    expect(s.of("snapshot")[0]).toMatchObject({ reset: true, cause: "connect" });
    expect(s.of("frame").map((e) => e.frame.cursor)).toEqual([0, 1]);
    expect(s.connection.resumePoint).toEqual({ epoch: "e1", offset: 3 });
  });

  it("reconnects after a drop with backoff and jitter, resuming from the last offset received", () => {
    const s = setup(() => 0.5);
    joinAndPlay(s, 3); // offsets 0..4
    s.sockets.last().drop(1006);
    const reconnecting = s.of("connection").map((e) => e.state).filter((st) => st.kind === "reconnecting");
    // min + 0.5 × (min(max, base × 2^0) − min) = 100 + 0.5 × 400
    expect(reconnecting[0]).toMatchObject({ kind: "reconnecting", attempt: 1, delayMs: 300 });
    expect(s.sockets.sockets).toHaveLength(1);
    vi.advanceTimersByTime(299);
    expect(s.sockets.sockets).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(s.sockets.last().url).toBe(`ws://api.test/api/v1/runs/${RUN}/stream?epoch=e1&offset=4`);
  });

  it("backs off exponentially while reconnects fail, and starts afresh once the server talks again", () => {
    const s = setup(() => 1);
    joinAndPlay(s, 1);
    const delays: number[] = [];
    for (let i = 0; i < 6; i += 1) {
      s.sockets.last().drop(1011);
      const state = s.of("connection").at(-1)?.state;
      if (state?.kind !== "reconnecting") throw new Error("expected a reconnect");
      delays.push(state.delayMs);
      vi.advanceTimersByTime(state.delayMs);
    }
    expect(delays).toEqual([500, 1_000, 2_000, 4_000, 8_000, 8_000]);
    const socket = s.sockets.last();
    socket.open();
    socket.receive(hello(2, "e1", { resume: "recovered" }));
    socket.drop(1001);
    const state = s.of("connection").at(-1)?.state;
    expect(state).toMatchObject({ kind: "reconnecting", attempt: 1, delayMs: 500 });
  });

  it("spreads reconnects of many viewers with jitter", () => {
    const delays = [0, 0.25, 0.99].map((r) => {
      const s = setup(() => r);
      joinAndPlay(s, 1);
      s.sockets.last().drop(1001);
      const state = s.of("connection").at(-1)?.state;
      return state?.kind === "reconnecting" ? state.delayMs : -1;
    });
    expect(new Set(delays).size).toBe(3);
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(BACKOFF.minMs);
  });

  it("gets everything missed after a resume and goes on without a duplicate", () => {
    const s = setup();
    joinAndPlay(s, 2); // frames at offsets 2, 3
    s.sockets.last().drop(1006);
    vi.runOnlyPendingTimers();
    const socket = s.sockets.last();
    socket.open();
    socket.receive(hello(3, "e1", { resume: "recovered" }));
    socket.receive(frame(3, 1, 1)); // a repeat of what was already received: dropped
    socket.receive(frame(4, 2, 2));
    socket.receive(frame(5, 3, 3));
    expect(s.of("frame").map((e) => e.frame.cursor)).toEqual([0, 1, 2, 3]);
  });

  it("counts the repeats it dropped and the gaps it reconnected for, and nothing after a clean resume", () => {
    const s = setup();
    joinAndPlay(s, 2); // reached offset 3
    s.sockets.last().drop(1006);
    vi.runOnlyPendingTimers();
    const socket = s.sockets.last();
    socket.open();
    socket.receive(hello(3, "e1", { resume: "recovered" }));
    socket.receive(frame(4, 2, 2));
    expect(s.of("continuity")).toEqual([]);
    socket.receive(frame(4, 2, 2));
    expect(s.of("continuity")).toEqual([{ type: "continuity", gaps: 0, duplicates: 1 }]);
    socket.receive(frame(6, 4, 4));
    expect(s.of("continuity").at(-1)).toEqual({ type: "continuity", gaps: 1, duplicates: 1 });
  });

  it("reconnects from the last trusted offset when a message is missing, instead of guessing", () => {
    const s = setup();
    const socket = joinAndPlay(s, 2); // reached offset 3
    socket.receive(frame(6, 5, 5)); // offsets 4 and 5 never arrived
    expect(s.of("frame")).toHaveLength(2);
    expect(socket.closedWith?.code).toBe(4000);
    vi.runOnlyPendingTimers();
    expect(s.sockets.last().url).toContain("epoch=e1&offset=3");
  });

  it("accepts a reset snapshot that jumps or changes epoch, and resumes in the new epoch", () => {
    const s = setup();
    const socket = joinAndPlay(s, 1);
    socket.receive(snapshot(1, 40, { epoch: "e2", cause: "history_lost" }));
    socket.receive(frame(2, 41, 41, "e2"));
    expect(s.of("snapshot").at(-1)).toMatchObject({ reset: true, cause: "history_lost" });
    expect(s.of("frame").at(-1)?.frame.cursor).toBe(41);
    socket.drop(1001);
    vi.runOnlyPendingTimers();
    expect(s.sockets.last().url).toContain("epoch=e2&offset=2");
  });

  it("treats a keyframe from another epoch as a gap", () => {
    const s = setup();
    const socket = joinAndPlay(s, 1);
    socket.receive(snapshot(3, 1, { epoch: "e2", kind: "keyframe", cause: null }));
    expect(socket.closedWith?.code).toBe(4000);
  });

  it("passes on a skip and the resync reset that follows it", () => {
    const s = setup();
    const socket = joinAndPlay(s, 1); // offset 2
    socket.receive(skipped(2, 40));
    socket.receive(snapshot(45, 60, { cause: "resync" }));
    socket.receive(frame(46, 61, 61));
    expect(s.of("skipped")[0]).toMatchObject({ count: 40 });
    expect(s.of("snapshot").at(-1)).toMatchObject({ reset: true, cause: "resync" });
    expect(s.connection.resumePoint).toEqual({ epoch: "e1", offset: 46 });
  });

  it("gives up an attempt whose handshake never completes, and tries again from the same resume point", () => {
    const s = setup();
    const first = joinAndPlay(s, 1);
    first.drop(1006);
    vi.runOnlyPendingTimers();
    const hanging = s.sockets.last(); // the network swallows the handshake: no open, no close
    expect(hanging.url).toContain("offset=2");
    vi.advanceTimersByTime(CONNECT_TIMEOUT_MS - 1);
    expect(hanging.closedWith).toBeNull();
    vi.advanceTimersByTime(1);
    expect(hanging.closedWith?.code).toBe(4000);
    const state = s.of("connection").at(-1)?.state;
    expect(state).toMatchObject({ kind: "reconnecting", reason: "could not connect within 10 s" });
    vi.runOnlyPendingTimers();
    expect(s.sockets.sockets).toHaveLength(3);
    expect(s.sockets.last().url).toContain("offset=2");
    s.sockets.last().open(); // an attempt that opens is no longer on the connect clock
    vi.advanceTimersByTime(CONNECT_TIMEOUT_MS);
    expect(s.sockets.last().closedWith).toBeNull();
  });

  it("keeps the connection while heartbeats arrive, and reconnects when nothing arrives in time", () => {
    const s = setup();
    const socket = joinAndPlay(s, 1);
    for (let i = 0; i < 5; i += 1) {
      vi.advanceTimersByTime(5_000);
      socket.receive(heartbeat(2));
    }
    expect(s.sockets.sockets).toHaveLength(1);
    expect(s.of("heartbeat").at(-1)).toMatchObject({ viewers: 3 });
    vi.advanceTimersByTime(STREAM_IDLE_TIMEOUT_MS);
    expect(socket.closedWith?.code).toBe(4000);
    expect(s.of("connection").at(-1)?.state.kind).toBe("reconnecting");
    vi.runOnlyPendingTimers();
    expect(s.sockets.sockets).toHaveLength(2);
    expect(s.sockets.last().url).toContain("offset=2");
  });

  it("passes viewer counts from presence messages on without moving the resume point", () => {
    const s = setup();
    const socket = joinAndPlay(s, 1); // offsets 0..2
    socket.receive(presence(2, 5));
    socket.receive(presence(2, 4));
    expect(s.of("presence").map((e) => e.viewers)).toEqual([5, 4]);
    expect(s.connection.resumePoint).toEqual({ epoch: "e1", offset: 2 });
    socket.receive(frame(3, 1, 1)); // the next published message follows on: no gap, no repeat
    expect(s.of("frame").map((e) => e.frame.cursor)).toEqual([0, 1]);
    expect(s.of("continuity")).toEqual([]);
    expect(s.sockets.sockets).toHaveLength(1);
  });

  it.each([
    [1000, "normal closure"],
    [4400, "bad query parameter"],
    [4401, "token not valid"],
    [4404, "run not visible"],
    [4409, "run not completed"],
    [4499, "a code of ours it does not know"],
  ])("stops for good on close code %i (%s)", (code) => {
    const s = setup();
    joinAndPlay(s, 1).drop(code, "why");
    expect(s.of("connection").at(-1)?.state).toMatchObject({ kind: "closed", code, unauthorized: code === 4401 });
    vi.runAllTimers();
    expect(s.sockets.sockets).toHaveLength(1);
  });

  it.each([1001, 1006, 1011, 1012, 1013, 4408])("reconnects after close code %i", (code) => {
    const s = setup();
    joinAndPlay(s, 1).drop(code);
    vi.runOnlyPendingTimers();
    expect(s.sockets.sockets).toHaveLength(2);
  });

  it("does not resume a degraded private playback by offset", () => {
    const s = setup();
    const socket = s.sockets.last();
    socket.open();
    socket.receive(hello(0, "direct-x", { degraded: true }));
    socket.receive(snapshot(1, -1, { epoch: "direct-x" }));
    socket.drop(1006);
    vi.runOnlyPendingTimers();
    expect(s.sockets.last().url).toBe(`ws://api.test/api/v1/runs/${RUN}/stream`);
  });

  it("sends controls with a ref, echoed by the error that answers one", () => {
    const s = setup();
    const socket = joinAndPlay(s, 0);
    const ref = s.connection.send({ type: "seek", cursor: 10 });
    expect(socket.sent.at(-1)).toEqual({ type: "seek", cursor: 10, ref });
    socket.receive({ type: "error", epoch: "e1", offset: 1, code: "forbidden", message: "watch only", ref });
    expect(s.of("error")[0]).toEqual({ type: "error", code: "forbidden", message: "watch only", ref });
  });

  it("refuses to send while not connected, and stops everything on close", () => {
    const s = setup();
    expect(s.connection.send({ type: "play" })).toBeNull();
    const socket = joinAndPlay(s, 0);
    s.connection.close();
    expect(socket.closedWith?.code).toBe(1000);
    vi.runAllTimers();
    expect(s.sockets.sockets).toHaveLength(1);
  });

  it("reconnects when the server sends something that is not JSON", () => {
    const s = setup();
    const socket = joinAndPlay(s, 0);
    socket.receiveRaw("not json");
    expect(socket.closedWith?.code).toBe(4000);
  });
});
