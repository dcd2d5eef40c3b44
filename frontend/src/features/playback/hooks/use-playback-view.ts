// The page's view of the playback, folded from the connection's events once per animation frame: a burst of
// frames costs one render, not one each. A control's answer (a status, the end, a refusal) is shown at once:
// the person who pressed Pause sees it paused without waiting for the next paint.
import { useCallback, useEffect, useReducer, useRef } from "react";
import { session } from "@/lib/session";
import type { PlaybackConnection, PlaybackEvent } from "../api/protocol";
import { dismissNotice, INITIAL_VIEW, reducePlayback, type PlaybackView } from "../utils/playback-view";

const MAX_QUEUED_EVENTS = 120;
const ANSWERS = new Set<PlaybackEvent["type"]>(["status", "end", "error"]);

type Action = { kind: "events"; events: PlaybackEvent[] } | { kind: "dismiss"; id: number } | { kind: "reset" };

function reducer(view: PlaybackView, action: Action): PlaybackView {
  switch (action.kind) {
    case "events":
      return action.events.reduce(reducePlayback, view);
    case "dismiss":
      return dismissNotice(view, action.id);
    case "reset":
      return INITIAL_VIEW;
  }
}

export function usePlaybackView(connection: PlaybackConnection | null) {
  const [view, dispatch] = useReducer(reducer, INITIAL_VIEW);
  const queue = useRef<PlaybackEvent[]>([]);
  const frame = useRef<number | null>(null);

  useEffect(() => {
    if (!connection) return undefined;
    dispatch({ kind: "reset" });
    const flush = () => {
      frame.current = null;
      const events = queue.current;
      queue.current = [];
      if (events.length) dispatch({ kind: "events", events });
    };
    const unsubscribe = connection.subscribe((event) => {
      if (event.type === "connection" && event.state.kind === "closed" && event.state.unauthorized) session.reject();
      queue.current.push(event);
      // A hidden tab gets no animation frames: past a bound, fold the queue at once instead of letting it grow.
      // The events before an answer go with it, in order.
      if (queue.current.length >= MAX_QUEUED_EVENTS || ANSWERS.has(event.type)) {
        if (frame.current !== null) cancelAnimationFrame(frame.current);
        flush();
      } else if (frame.current === null) {
        frame.current = requestAnimationFrame(flush);
      }
    });
    return () => {
      unsubscribe();
      if (frame.current !== null) cancelAnimationFrame(frame.current);
      frame.current = null;
      queue.current = [];
    };
  }, [connection]);

  const dismiss = useCallback((id: number) => dispatch({ kind: "dismiss", id }), []);
  return { view, dismiss };
}
