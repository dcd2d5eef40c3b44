import { useEffect, useRef } from "react";
import { Button } from "@/components/ui/button";

/** Asks before the playback jumps to its start or end: everyone watching along jumps with it. */
export function ConfirmJump({ to, onConfirm, onCancel }: { to: "start" | "end"; onConfirm: () => void; onCancel: () => void }) {
  const confirmRef = useRef<HTMLButtonElement>(null);
  useEffect(() => confirmRef.current?.focus(), []);
  const label = to === "start" ? "Go to the start" : "Go to the end";
  return (
    <div role="alertdialog" aria-modal="false" aria-labelledby="confirm-jump-title" data-testid="confirm-jump"
      onKeyDown={(e) => {
        if (e.key === "Escape") onCancel();
        e.stopPropagation(); // keys in the dialog are the dialog's, not the playback's
      }}
      className="flex flex-wrap items-center gap-3 rounded-md border border-amber-700 bg-amber-950/60 px-3 py-2 text-sm text-amber-100">
      <span id="confirm-jump-title">
        {label} of the run? Everyone watching this playback jumps there too.
      </span>
      <Button ref={confirmRef} variant="primary" onClick={onConfirm}>{label}</Button>
      <Button variant="ghost" onClick={onCancel}>Cancel</Button>
    </div>
  );
}
