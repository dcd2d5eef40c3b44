import { Button } from "@/components/ui/button";
import type { Notice } from "../utils/playback-view";

const TONES = {
  info: "border-sky-800 bg-sky-950/95 text-sky-100",
  warning: "border-amber-700 bg-amber-950/95 text-amber-100",
  error: "border-rose-700 bg-rose-950/95 text-rose-100",
} as const;

/**
 * What happened to this viewer's stream that the chart alone would not tell (resets, skips, refusals), in one
 * area floating over the page's corner: a notice never pushes the chart down, and a newer one of the same kind
 * takes the older one's place (saying how many times it came).
 */
export function Notices({ notices, onDismiss }: { notices: Notice[]; onDismiss: (id: number) => void }) {
  return (
    <div aria-live="polite" data-testid="notices"
      className="pointer-events-none fixed inset-x-3 bottom-3 z-40 flex flex-col gap-1.5 sm:left-auto sm:w-[26rem]">
      {notices.map((n) => (
        <div key={n.id} data-kind={n.kind} data-tone={n.tone}
          className={`pointer-events-auto flex items-start justify-between gap-2 rounded-md border px-3 py-1.5 text-sm shadow-lg ${TONES[n.tone]}`}>
          <span>
            {n.text}
            {n.repeats > 1 && <span className="ml-1 font-semibold" aria-label={`${n.repeats} times`}>×{n.repeats}</span>}
          </span>
          <Button variant="ghost" className="px-1.5 py-0 text-xs" onClick={() => onDismiss(n.id)} aria-label="Dismiss notice">✕</Button>
        </div>
      ))}
    </div>
  );
}
