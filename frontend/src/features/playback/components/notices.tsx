import { Button } from "@/components/ui/button";
import type { Notice } from "../utils/playback-view";

const TONES = {
  info: "border-sky-800 bg-sky-950/60 text-sky-100",
  warning: "border-amber-700 bg-amber-950/60 text-amber-100",
  error: "border-rose-700 bg-rose-950/60 text-rose-100",
} as const;

/** What happened to this viewer's stream that the chart alone would not tell (resets, skips, refusals). */
export function Notices({ notices, onDismiss }: { notices: Notice[]; onDismiss: (id: number) => void }) {
  return (
    <div aria-live="polite" data-testid="notices" className="flex flex-col gap-1.5">
      {notices.map((n) => (
        <div key={n.id} data-tone={n.tone} className={`flex items-start justify-between gap-2 rounded-md border px-3 py-1.5 text-sm ${TONES[n.tone]}`}>
          <span>{n.text}</span>
          <Button variant="ghost" className="px-1.5 py-0 text-xs" onClick={() => onDismiss(n.id)} aria-label="Dismiss notice">✕</Button>
        </div>
      ))}
    </div>
  );
}
