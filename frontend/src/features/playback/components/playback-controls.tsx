// Play, pause, speed, seek (slider and date) and step, for viewers who may control the playback. Everyone
// else sees the same controls disabled, and why. The keyboard does the same (use-playback-hotkeys).
import { useState, type FormEvent } from "react";
import { Button } from "@/components/ui/button";
import { formatInteger, formatTime } from "@/lib/format";
import type { PlaybackControl } from "../api/protocol";
import { SPEEDS } from "../utils/hotkeys";
import type { PlaybackView } from "../utils/playback-view";


function toDateTimeInput(epochS: number | null): string {
  return epochS === null ? "" : formatTime(epochS).replace(" ", "T");
}

interface Props {
  view: PlaybackView;
  send: (control: PlaybackControl) => void;
  /** Home/End on the slider: jumping everyone to the start or end is confirmed first. */
  confirm: (to: "start" | "end") => void;
}

export function PlaybackControls({ view, send, confirm }: Props) {
  const disabled = !view.canControl || view.connection.kind !== "open" || !view.ready;
  const last = Math.max(0, view.totalBars - 1);
  // The slider follows the cursor except while someone drags it.
  const [dragging, setDragging] = useState<number | null>(null);
  const [date, setDate] = useState("");

  const seekDate = (event: FormEvent) => {
    event.preventDefault();
    const ms = Date.parse(`${date}:00Z`);
    if (!Number.isNaN(ms)) send({ type: "seek", time: Math.floor(ms / 1000) });
  };
  const commitSlider = () => {
    if (dragging !== null) send({ type: "seek", cursor: dragging });
    setDragging(null);
  };

  return (
    <section aria-label="Playback controls" className="flex flex-col gap-3 rounded-lg border border-slate-800 bg-slate-900/60 p-3">
      {!view.canControl && view.ready && (
        <p data-testid="control-hint" className="text-sm text-amber-200">
          You are watching along: only the run's owner controls this playback. Everyone sees the same bars.
        </p>
      )}
      <div className="flex flex-wrap items-center gap-2">
        {view.state === "playing" ? (
          <Button variant="primary" disabled={disabled} onClick={() => send({ type: "pause" })}>Pause</Button>
        ) : (
          <Button variant="primary" disabled={disabled || view.state === "ended"} onClick={() => send({ type: "play" })}>
            Play
          </Button>
        )}
        <Button disabled={disabled} onClick={() => send({ type: "step", bars: -10 })} aria-label="Step back 10 bars">−10</Button>
        <Button disabled={disabled} onClick={() => send({ type: "step", bars: -1 })} aria-label="Step back 1 bar">−1</Button>
        <Button disabled={disabled} onClick={() => send({ type: "step", bars: 1 })} aria-label="Step forward 1 bar">+1</Button>
        <Button disabled={disabled} onClick={() => send({ type: "step", bars: 10 })} aria-label="Step forward 10 bars">+10</Button>
        <label className="ml-2 flex items-center gap-2 text-sm text-slate-300">
          Speed
          <select value={SPEEDS.includes(view.speed as (typeof SPEEDS)[number]) ? view.speed : ""} disabled={disabled}
            onChange={(e) => send({ type: "speed", value: Number(e.target.value) })}
            className="rounded-md border border-slate-700 bg-slate-950 px-2 py-1 text-sm">
            {!SPEEDS.includes(view.speed as (typeof SPEEDS)[number]) && <option value="">{view.speed} bars/s</option>}
            {SPEEDS.map((s) => <option key={s} value={s}>{formatInteger(s)} bars/s</option>)}
          </select>
        </label>
        <form onSubmit={seekDate} className="ml-auto flex items-center gap-2">
          <label className="flex items-center gap-2 text-sm text-slate-300">
            Go to (UTC)
            <input type="datetime-local" value={date} disabled={disabled} onChange={(e) => setDate(e.target.value)}
              onFocus={() => {
                if (!date) setDate(toDateTimeInput(view.time));
              }}
              className="rounded-md border border-slate-700 bg-slate-950 px-2 py-1 text-sm" />
          </label>
          <Button type="submit" disabled={disabled || !date}>Go</Button>
        </form>
      </div>
      <label className="flex items-center gap-3 text-sm text-slate-300">
        <span className="whitespace-nowrap">Cursor</span>
        <input type="range" min={-1} max={last} step={1} value={dragging ?? view.cursor} disabled={disabled}
          aria-valuetext={`bar ${formatInteger(view.cursor + 1)} of ${formatInteger(view.totalBars)}`}
          onChange={(e) => setDragging(Number(e.target.value))} onPointerUp={commitSlider} onKeyUp={commitSlider}
          onKeyDown={(e) => {
            if (e.key !== "Home" && e.key !== "End") return;
            e.preventDefault();
            confirm(e.key === "Home" ? "start" : "end");
          }}
          onBlur={() => setDragging(null)} className="w-full accent-sky-400" />
      </label>
      {!disabled && (
        <p data-testid="hotkeys" className="text-xs text-slate-400">
          Keys: <Kbd>Space</Kbd> play/pause · <Kbd>←</Kbd>/<Kbd>→</Kbd> step (<Kbd>Shift</Kbd> ten bars) ·{" "}
          <Kbd>[</Kbd>/<Kbd>]</Kbd> speed · <Kbd>Home</Kbd>/<Kbd>End</Kbd> start/end ·{" "}
          <Kbd>P</Kbd>/<Kbd>N</Kbd> previous/next fill · click the price chart to go to a bar
        </p>
      )}
    </section>
  );
}

function Kbd({ children }: { children: string }) {
  return <kbd className="rounded border border-slate-700 bg-slate-800 px-1 font-mono text-xs text-slate-200">{children}</kbd>;
}
