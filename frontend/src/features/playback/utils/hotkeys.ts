// The playback's keyboard: which key does what, as a pure function of the key and the view, so it is tested
// without a browser. The page's hook listens and sends what this returns.
import type { PlaybackControl } from "../api/protocol";

export const SPEEDS = [1, 5, 10, 30, 60, 120, 300, 600, 1000, 5000] as const;

/** What a key asks for: a control to send now, or a jump everyone watching must confirm first. */
export type HotkeyAction =
  | { kind: "control"; control: PlaybackControl }
  | { kind: "confirm"; to: "start" | "end" }
  | { kind: "trade"; direction: 1 | -1 };

export interface HotkeyState {
  state: "playing" | "paused" | "ended";
  speed: number;
  totalBars: number;
}

export interface KeyPress {
  key: string;
  shiftKey: boolean;
  ctrlKey: boolean;
  metaKey: boolean;
  altKey: boolean;
}

/** The next speed up (`direction` 1) or down (-1) among the backend's speeds, from any current speed. */
export function nextSpeed(speed: number, direction: 1 | -1): number {
  if (direction > 0) return SPEEDS.find((s) => s > speed) ?? Math.max(speed, SPEEDS[SPEEDS.length - 1] ?? speed);
  return [...SPEEDS].reverse().find((s) => s < speed) ?? Math.min(speed, SPEEDS[0]);
}

export function hotkeyAction(press: KeyPress, view: HotkeyState): HotkeyAction | null {
  // Keys with Ctrl, Cmd or Alt belong to the browser (Ctrl+← is a word jump, Alt+← goes back).
  if (press.ctrlKey || press.metaKey || press.altKey) return null;
  const step = press.shiftKey ? 10 : 1;
  switch (press.key) {
    case " ":
      if (view.state === "playing") return { kind: "control", control: { type: "pause" } };
      return view.state === "ended" ? null : { kind: "control", control: { type: "play" } };
    case "ArrowLeft":
      return { kind: "control", control: { type: "step", bars: -step } };
    case "ArrowRight":
      return { kind: "control", control: { type: "step", bars: step } };
    case "[":
    case "]": {
      const speed = nextSpeed(view.speed, press.key === "]" ? 1 : -1);
      return speed === view.speed ? null : { kind: "control", control: { type: "speed", value: speed } };
    }
    case "Home":
      return { kind: "confirm", to: "start" };
    case "End":
      return view.totalBars > 0 ? { kind: "confirm", to: "end" } : null;
    case "n":
    case "N":
      return { kind: "trade", direction: 1 };
    case "p":
    case "P":
      return { kind: "trade", direction: -1 };
    default:
      return null;
  }
}

/** The time of the first fill after `time` (direction 1) or the last one before it (-1); null if none. */
export function adjacentFillTime(fillTimes: readonly number[], time: number | null, direction: 1 | -1): number | null {
  if (direction > 0) {
    const from = time ?? Number.NEGATIVE_INFINITY;
    return fillTimes.find((t) => t > from) ?? null;
  }
  if (time === null) return null;
  for (let i = fillTimes.length - 1; i >= 0; i -= 1) {
    const t = fillTimes[i];
    if (t !== undefined && t < time) return t;
  }
  return null;
}
