import { describe, expect, it } from "vitest";
import { adjacentFillTime, hotkeyAction, nextSpeed, type HotkeyState } from "./hotkeys";

const PAUSED: HotkeyState = { state: "paused", speed: 300, totalBars: 1_000 };
const key = (k: string, mods: Partial<{ shiftKey: boolean; ctrlKey: boolean; metaKey: boolean; altKey: boolean }> = {}) =>
  ({ key: k, shiftKey: false, ctrlKey: false, metaKey: false, altKey: false, ...mods });

describe("playback hotkeys", () => {
  it("Space plays a paused playback and pauses a playing one; an ended one stays", () => {
    expect(hotkeyAction(key(" "), PAUSED)).toEqual({ kind: "control", control: { type: "play" } });
    expect(hotkeyAction(key(" "), { ...PAUSED, state: "playing" })).toEqual({ kind: "control", control: { type: "pause" } });
    expect(hotkeyAction(key(" "), { ...PAUSED, state: "ended" })).toBeNull();
  });

  it("arrows step one bar, ten with Shift; Ctrl, Cmd and Alt leave them to the browser", () => {
    expect(hotkeyAction(key("ArrowRight"), PAUSED)).toEqual({ kind: "control", control: { type: "step", bars: 1 } });
    expect(hotkeyAction(key("ArrowLeft", { shiftKey: true }), PAUSED))
      .toEqual({ kind: "control", control: { type: "step", bars: -10 } });
    expect(hotkeyAction(key("ArrowLeft", { altKey: true }), PAUSED)).toBeNull();
    expect(hotkeyAction(key("ArrowRight", { ctrlKey: true }), PAUSED)).toBeNull();
  });

  it("[ and ] move through the backend's speeds, from any speed, and stop at the ends", () => {
    expect(hotkeyAction(key("]"), PAUSED)).toEqual({ kind: "control", control: { type: "speed", value: 600 } });
    expect(hotkeyAction(key("["), PAUSED)).toEqual({ kind: "control", control: { type: "speed", value: 120 } });
    expect(nextSpeed(250, 1)).toBe(300);
    expect(nextSpeed(250, -1)).toBe(120);
    expect(hotkeyAction(key("]"), { ...PAUSED, speed: 5000 })).toBeNull();
    expect(hotkeyAction(key("["), { ...PAUSED, speed: 1 })).toBeNull();
  });

  it("Home and End ask for a confirmation instead of seeking at once", () => {
    expect(hotkeyAction(key("Home"), PAUSED)).toEqual({ kind: "confirm", to: "start" });
    expect(hotkeyAction(key("End"), PAUSED)).toEqual({ kind: "confirm", to: "end" });
    expect(hotkeyAction(key("x"), PAUSED)).toBeNull();
  });

  it("N and P find the next and previous fill around the cursor's time", () => {
    expect(hotkeyAction(key("n"), PAUSED)).toEqual({ kind: "trade", direction: 1 });
    expect(hotkeyAction(key("P", { shiftKey: true }), PAUSED)).toEqual({ kind: "trade", direction: -1 });
    const fills = [100, 200, 200, 300];
    expect(adjacentFillTime(fills, 200, 1)).toBe(300);
    expect(adjacentFillTime(fills, 200, -1)).toBe(100);
    expect(adjacentFillTime(fills, null, 1)).toBe(100);
    expect(adjacentFillTime(fills, null, -1)).toBeNull();
    expect(adjacentFillTime(fills, 300, 1)).toBeNull();
  });
});
