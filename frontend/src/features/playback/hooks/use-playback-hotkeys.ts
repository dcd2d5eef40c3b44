// Space plays or pauses, ←/→ step (Shift: ten bars), [ and ] change the speed, Home/End ask before jumping
// everyone watching to the start or the end, N/P jump to the next or previous fill. Keys typed into a field
// stay the field's, and Space on a focused button stays the button's (it clicks it).
import { useEffect, useEffectEvent } from "react";
import type { PlaybackControl } from "../api/protocol";
import { adjacentFillTime, hotkeyAction, type HotkeyState } from "../utils/hotkeys";

interface Options {
  view: HotkeyState & { time: number | null };
  enabled: boolean;
  /** Fill times in order, for N and P. */
  fillTimes: readonly number[];
  send: (control: PlaybackControl) => void;
  confirm: (to: "start" | "end") => void;
}

function ownsKey(target: EventTarget | null, key: string): boolean {
  if (!(target instanceof HTMLElement)) return false;
  // A focused chart zooms and pans with its own keys.
  if (target.closest("[data-chart-keys]") !== null) return true;
  if (target.isContentEditable || target instanceof HTMLTextAreaElement || target instanceof HTMLSelectElement) return true;
  // The cursor slider handles its own arrows (and asks before Home/End itself).
  if (target instanceof HTMLInputElement) return true;
  return key === " " && (target instanceof HTMLButtonElement || target.getAttribute("role") === "button");
}

export function usePlaybackHotkeys({ view, enabled, fillTimes, send, confirm }: Options): void {
  const onKey = useEffectEvent((event: KeyboardEvent) => {
    if (!enabled || event.defaultPrevented || ownsKey(event.target, event.key)) return;
    const action = hotkeyAction(event, view);
    if (action === null) return;
    event.preventDefault(); // Space would scroll the page, Home/End jump it
    if (action.kind === "control") send(action.control);
    else if (action.kind === "confirm") confirm(action.to);
    else {
      const time = adjacentFillTime(fillTimes, view.time, action.direction);
      if (time !== null) send({ type: "seek", time });
    }
  });
  useEffect(() => {
    const listener = (event: KeyboardEvent) => onKey(event);
    window.addEventListener("keydown", listener);
    return () => window.removeEventListener("keydown", listener);
  }, []);
}
