import { describe, expect, it } from "vitest";
import { barsFrame, snapshot } from "@/test/messages";
import { INITIAL_VIEW, MAX_NOTICES, reducePlayback } from "./playback-view";
import type { PlaybackEvent } from "../api/protocol";

function fold(events: PlaybackEvent[]) {
  return events.reduce(reducePlayback, INITIAL_VIEW);
}

const hello: PlaybackEvent = { type: "hello", mode: "shared", clientId: "c", canControl: false, viewers: 4,
  degraded: false, resume: "fresh" };

describe("playback view", () => {
  it("is ready from the first snapshot and follows frames", () => {
    const view = fold([hello, { type: "snapshot", snapshot: snapshot(1, 9), reset: true, cause: "connect" },
      { type: "frame", frame: { ...barsFrame(10, 12), position: 2, cash: 5 } }]);
    expect(view).toMatchObject({ ready: true, canControl: false, viewers: 4, cursor: 12, position: 2, cash: 5 });
    expect(view.stats?.bars_played).toBe(13);
    expect(view.notices).toEqual([]);
  });

  it.each([
    ["seek", "jumped"],
    ["resync", "fell behind"],
    ["history_lost", "history"],
  ] as const)("tells the viewer about a %s reset", (cause, text) => {
    const view = fold([{ type: "snapshot", snapshot: snapshot(1, 9), reset: true, cause }]);
    expect(view.notices.at(-1)?.text).toContain(text);
  });

  it("tells about skips, lost and resumed upstreams, refused controls and a lost connection", () => {
    const view = fold([
      { type: "connection", state: { kind: "open" } },
      { type: "skipped", count: 1200, fromOffset: 1, toOffset: 1200 },
      { type: "upstream", state: "lost", reason: "backend unreachable" },
      { type: "connection", state: { kind: "reconnecting", attempt: 1, delayMs: 300, reason: "closed (1006)" } },
    ]);
    expect(view.upstreamLost).toBe("backend unreachable");
    expect(view.notices.map((n) => n.tone)).toEqual(["warning", "warning", "warning"]);
    expect(view.notices.map((n) => n.kind)).toEqual(["skipped", "source", "connection"]);
    expect(view.notices[0]?.text).toContain("1,200");
    const after = fold([{ type: "upstream", state: "resumed", reason: "" },
      { type: "error", code: "forbidden", message: "watch only", ref: "c1" }]);
    expect(after.upstreamLost).toBeNull();
    expect(after.notices.at(-1)).toMatchObject({ tone: "error" });
    expect(after.notices.at(-1)?.text).toContain("forbidden");
  });

  it("shows the connection's latest continuity counts", () => {
    expect(INITIAL_VIEW.continuity).toEqual({ gaps: 0, duplicates: 0 });
    const view = fold([{ type: "continuity", gaps: 0, duplicates: 1 }, { type: "continuity", gaps: 1, duplicates: 1 }]);
    expect(view.continuity).toEqual({ gaps: 1, duplicates: 1 });
    expect(view.notices).toEqual([]);
  });

  it("keeps one notice of each kind: the newest replaces the older, and a repeat is counted", () => {
    const many: PlaybackEvent[] = Array.from({ length: 9 }, (_, i) => ({ type: "skipped", count: i, fromOffset: 0, toOffset: i }));
    const seeks: PlaybackEvent[] = Array.from({ length: 4 }, (_, i) => ({ type: "snapshot", snapshot: snapshot(1, 9 + i),
      reset: true, cause: "seek" }));
    const view = fold([...many, ...seeks, { type: "error", code: "forbidden", message: "watch only", ref: "c1" }]);
    expect(view.notices.map((n) => n.kind)).toEqual(["skipped", "reset", "refused"]);
    expect(view.notices[0]?.text).toContain("Skipped 8");
    expect(view.notices[1]).toMatchObject({ repeats: 4 });
    expect(view.notices.length).toBeLessThanOrEqual(MAX_NOTICES);
  });

  it("follows the viewer count from hello, heartbeats and presence messages", () => {
    const view = fold([hello, { type: "presence", viewers: 7 }]);
    expect(view.viewers).toBe(7);
    expect(fold([hello, { type: "presence", viewers: 7 }, { type: "heartbeat", viewers: 6 }]).viewers).toBe(6);
  });

  it("takes the server's statistics at the end", () => {
    const view = fold([{ type: "snapshot", snapshot: snapshot(1, 9), reset: true, cause: "connect" },
      { type: "end", totalBars: 100, stats: { ...snapshot(1, 99).stats, fills: 42 }, cursor: 99, time: 7 }]);
    expect(view).toMatchObject({ state: "ended", cursor: 99, time: 7 });
    expect(view.stats?.fills).toBe(42);
  });
});
