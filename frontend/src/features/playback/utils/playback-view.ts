// Everything the playback page shows besides the chart, as one state folded from the connection's events.
import { formatInteger } from "@/lib/format";
import type { PlaybackEvent, PlaybackState, PlaybackStats, ResetCause } from "../api/protocol";
import type { ConnectionState } from "../api/reconnecting-socket";
import { applyFrame } from "./live-stats";

/** What a notice is about: a newer notice of the same kind replaces the older one. */
export type NoticeKind = "connection" | "source" | "reset" | "skipped" | "refused";

export interface Notice {
  id: number;
  kind: NoticeKind;
  tone: "info" | "warning" | "error";
  text: string;
  /** How many times in a row this same text came (a burst of seeks says "×4", not four banners). */
  repeats: number;
}

export interface PlaybackView {
  connection: ConnectionState;
  mode: "shared" | "direct" | null;
  clientId: string | null;
  canControl: boolean;
  viewers: number;
  degraded: boolean;
  /** Whether a snapshot arrived since connecting (before it, there is nothing to show). */
  ready: boolean;
  cursor: number;
  time: number | null;
  totalBars: number;
  state: PlaybackState;
  speed: number;
  position: number;
  cash: number;
  stats: PlaybackStats | null;
  upstreamLost: string | null;
  /** Messages the connection found missing (it reconnected) or repeated (it dropped them) so far. */
  continuity: { gaps: number; duplicates: number };
  notices: Notice[];
  nextNoticeId: number;
}

/** One notice per kind at most, so never more than the kinds there are. */
export const MAX_NOTICES = 5;

export const INITIAL_VIEW: PlaybackView = {
  connection: { kind: "connecting", attempt: 0 },
  mode: null,
  clientId: null,
  canControl: false,
  viewers: 0,
  degraded: false,
  ready: false,
  cursor: -1,
  time: null,
  totalBars: 0,
  state: "paused",
  speed: 10,
  position: 0,
  cash: 0,
  stats: null,
  upstreamLost: null,
  continuity: { gaps: 0, duplicates: 0 },
  notices: [],
  nextNoticeId: 1,
};

const RESET_TEXT: Record<ResetCause, string | null> = {
  connect: null,
  seek: "The playback jumped (a seek): the chart was rebuilt at the new cursor.",
  resync: "You fell behind, so the view skipped ahead to the latest snapshot.",
  history_lost: "The stream's history since your last message is gone: the view was rebuilt from the latest snapshot.",
};

function notify(view: PlaybackView, kind: NoticeKind, tone: Notice["tone"], text: string): PlaybackView {
  const older = view.notices.find((n) => n.kind === kind);
  const repeats = older?.text === text ? older.repeats + 1 : 1;
  const notices = [...view.notices.filter((n) => n.kind !== kind), { id: view.nextNoticeId, kind, tone, text, repeats }]
    .slice(-MAX_NOTICES);
  return { ...view, notices, nextNoticeId: view.nextNoticeId + 1 };
}

export function dismissNotice(view: PlaybackView, id: number): PlaybackView {
  return { ...view, notices: view.notices.filter((n) => n.id !== id) };
}

export function reducePlayback(view: PlaybackView, event: PlaybackEvent): PlaybackView {
  switch (event.type) {
    case "connection": {
      const next = { ...view, connection: event.state };
      if (event.state.kind === "reconnecting" && view.connection.kind === "open") {
        return notify(next, "connection", "warning", `Connection lost (${event.state.reason}); reconnecting and resuming where you were.`);
      }
      return next;
    }
    case "hello": {
      const next = { ...view, mode: event.mode, clientId: event.clientId, canControl: event.canControl,
        viewers: event.viewers, degraded: event.degraded };
      if (event.degraded) {
        return notify(next, "source", "warning", "The shared stream is unavailable (no broker): this is a private playback that you control.");
      }
      return event.resume === "recovered" && view.ready
        ? notify(next, "connection", "info", "Reconnected: every message you missed was replayed.") : next;
    }
    case "snapshot": {
      const s = event.snapshot;
      let next: PlaybackView = { ...view, ready: true, cursor: s.cursor, time: s.time, totalBars: s.total_bars,
        state: s.state, speed: s.speed, position: s.position, cash: s.cash, stats: s.stats };
      const text = event.reset && event.cause ? RESET_TEXT[event.cause] : null;
      if (text) next = notify(next, "reset", event.cause === "seek" ? "info" : "warning", text);
      return next;
    }
    case "frame": {
      const f = event.frame;
      const stats = view.stats ? applyFrame(view.stats, view.position, f, view.totalBars) : null;
      return { ...view, cursor: f.cursor, time: f.time, position: f.position, cash: f.cash, stats };
    }
    case "status":
      return { ...view, state: event.state, speed: event.speed, cursor: event.cursor, time: event.time };
    case "end":
      return { ...view, state: "ended", cursor: event.cursor, time: event.time, totalBars: event.totalBars,
        stats: event.stats };
    case "upstream":
      return event.state === "lost"
        ? notify({ ...view, upstreamLost: event.reason }, "source", "warning", `The playback paused: ${event.reason}.`)
        : notify({ ...view, upstreamLost: null }, "source", "info", "The playback source is back; it continues where it was.");
    case "skipped":
      return notify(view, "skipped", "warning", `Skipped ${formatInteger(event.count)} messages that arrived faster than this page could show them.`);
    case "heartbeat":
    case "presence":
      return { ...view, viewers: event.viewers };
    case "continuity":
      return { ...view, continuity: { gaps: event.gaps, duplicates: event.duplicates } };
    case "error":
      return notify(view, "refused", "error", `Your control was refused: ${event.message} (${event.code}).`);
  }
}
