import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { watchConnection } from "@/test/fake-socket";
import { backendFrame, backendSnapshot, RUN } from "@/test/messages";
import { DirectPlaybackConnection } from "./direct-playback";

function setup() {
  const s = watchConnection((socketFactory) => new DirectPlaybackConnection({ backendUrl: "http://backend.test/",
    runId: RUN, token: "hw_t", socketFactory, random: () => 0 }));
  return { ...s, types: () => s.events.map((e) => e.type).filter((t) => t !== "connection") };
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe("direct backend playback", () => {
  it("opens the backend's socket, authenticates first and makes its first snapshot a connect reset", () => {
    const s = setup();
    const socket = s.sockets.last();
    expect(socket.url).toBe(`ws://backend.test/backtests/${RUN}/ws`);
    socket.open();
    expect(socket.sent[0]).toEqual({ type: "auth", token: "hw_t" });
    socket.receive(backendSnapshot(-1));
    expect(s.types()).toEqual(["hello", "snapshot"]);
    expect(s.events.find((e) => e.type === "hello")).toMatchObject({ mode: "direct", canControl: true, resume: "fresh" });
    expect(s.events.find((e) => e.type === "snapshot")).toMatchObject({ reset: true, cause: "connect" });
  });

  it("tells a periodic keyframe at the view's cursor from a seek", () => {
    const s = setup();
    const socket = s.sockets.last();
    socket.open();
    socket.receive(backendSnapshot(-1));
    socket.receive(backendFrame(0, 0, 4));
    socket.receive(backendSnapshot(4, { state: "playing" }));
    socket.receive(backendSnapshot(50));
    const snapshots = s.events.filter((e) => e.type === "snapshot");
    expect(snapshots.map((e) => [e.reset, e.cause])).toEqual([[true, "connect"], [false, null], [true, "seek"]]);
  });

  it("reconnects after a drop exactly after the last bar received, playing at the same speed", () => {
    const s = setup();
    const socket = s.sockets.last();
    socket.open();
    socket.receive(backendSnapshot(-1));
    socket.receive({ type: "status", run_id: RUN, cursor: -1, time: null, state: "playing", speed: 120, reason: "play" });
    socket.receive(backendFrame(0, 0, 9));
    socket.drop(1006);
    vi.runOnlyPendingTimers();
    const next = s.sockets.last();
    expect(next.url).toBe(`ws://backend.test/backtests/${RUN}/ws?cursor=9&state=playing&speed=120`);
    next.open();
    next.receive(backendSnapshot(9, { state: "playing", speed: 120 }));
    next.receive(backendFrame(0, 10, 12));
    const snapshots = s.events.filter((e) => e.type === "snapshot");
    expect(snapshots.at(-1)).toMatchObject({ reset: false });
    expect(s.events.find((e) => e.type === "hello" && e.resume === "recovered")).toBeTruthy();
    const cursors = s.events.filter((e) => e.type === "frame").map((e) => e.frame.cursor);
    expect(cursors).toEqual([9, 12]);
  });

  it("reconnects when a frame number is skipped (a frame was lost)", () => {
    const s = setup();
    const socket = s.sockets.last();
    socket.open();
    socket.receive(backendSnapshot(-1));
    socket.receive(backendFrame(0, 0, 1));
    socket.receive(backendFrame(2, 4, 5));
    expect(socket.closedWith?.code).toBe(4000);
    expect(s.events.filter((e) => e.type === "continuity")).toEqual([{ type: "continuity", gaps: 1, duplicates: 0 }]);
    vi.runOnlyPendingTimers();
    expect(s.sockets.last().url).toContain("cursor=1");
  });

  it("passes the backend's errors on with their ref, and stops on a terminal close", () => {
    const s = setup();
    const socket = s.sockets.last();
    socket.open();
    socket.receive(backendSnapshot(99, { state: "ended" }));
    const ref = s.connection.send({ type: "play" });
    socket.receive({ type: "error", run_id: RUN, cursor: 99, time: 0, code: "at_end", message: "at the end", ref });
    expect(s.events.find((e) => e.type === "error")).toMatchObject({ code: "at_end", ref });
    socket.drop(4404, "run not found");
    expect(s.events.at(-1)).toMatchObject({ type: "connection", state: { kind: "closed", code: 4404 } });
  });
});
