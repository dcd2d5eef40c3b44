// The three states every view of server data has besides its data: loading, empty, failed.
import type { ReactNode } from "react";
import { describeError } from "@/api/errors";
import { Button } from "./button";

export function Spinner({ label = "Loading" }: { label?: string }) {
  return (
    <span role="status" aria-live="polite" className="inline-flex items-center gap-2 text-sm text-slate-400">
      <span aria-hidden className="size-4 animate-spin rounded-full border-2 border-slate-600 border-t-sky-400" />
      {label}
    </span>
  );
}

export function LoadingState({ label = "Loading…", className = "" }: { label?: string; className?: string }) {
  return (
    <div className={`flex min-h-24 items-center justify-center p-6 ${className}`}>
      <Spinner label={label} />
    </div>
  );
}

export function EmptyState({ title, children }: { title: string; children?: ReactNode }) {
  return (
    <div className="flex min-h-24 flex-col items-center justify-center gap-2 p-6 text-center">
      <p className="font-medium text-slate-300">{title}</p>
      {children && <div className="text-sm text-slate-400">{children}</div>}
    </div>
  );
}

export function ErrorState({ error, title = "This could not be loaded", onRetry }: {
  error: unknown;
  title?: string;
  onRetry?: () => void;
}) {
  return (
    <div role="alert" className="flex min-h-24 flex-col items-center justify-center gap-2 p-6 text-center">
      <p className="font-medium text-rose-300">{title}</p>
      <p className="max-w-xl text-sm break-words text-slate-400">{describeError(error)}</p>
      {onRetry && <Button onClick={onRetry}>Try again</Button>}
    </div>
  );
}
