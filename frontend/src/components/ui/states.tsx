// The three states every view of server data has besides its data: loading, empty, failed.
import { useEffect, useRef, useState, type ReactNode } from "react";
import { Link } from "react-router";
import { describeError, isNotFound, isTransient } from "@/api/errors";
import { Button } from "./button";

/** Seconds before a failed request that may pass (busy, down, timed out) is tried again by itself. */
export const AUTO_RETRY_S = 10;

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

interface ErrorStateProps {
  error: unknown;
  title?: string;
  onRetry?: () => void;
}

// Each failure gets its own countdown: a retry that fails again starts a fresh one.
const failureIds = new WeakMap<object, number>();
let failures = 0;
function failureId(error: unknown): number {
  if (typeof error !== "object" || error === null) return 0;
  let id = failureIds.get(error);
  if (id === undefined) {
    failures += 1;
    id = failures;
    failureIds.set(error, id);
  }
  return id;
}

export function ErrorState(props: ErrorStateProps) {
  return <FailedRequest key={failureId(props.error)} {...props} />;
}

function FailedRequest({ error, title = "This could not be loaded", onRetry }: ErrorStateProps) {
  // A busy or unreachable service is tried again by itself, with the countdown shown; a refusal is not.
  const automatic = onRetry !== undefined && isTransient(error);
  const [left, setLeft] = useState(AUTO_RETRY_S);
  useEffect(() => {
    if (!automatic) return undefined;
    const timer = window.setInterval(() => setLeft((n) => n - 1), 1000);
    return () => window.clearInterval(timer);
  }, [automatic]);
  const retried = useRef(false); // once per failure: a retry that fails again brings a new failure
  useEffect(() => {
    if (!automatic || left > 0 || retried.current) return;
    retried.current = true;
    onRetry();
  }, [automatic, left, onRetry]);
  return (
    <div role="alert" className="flex min-h-24 flex-col items-center justify-center gap-2 p-6 text-center">
      <p className="font-medium text-rose-300">{title}</p>
      <p className="max-w-xl text-sm break-words text-slate-400">{describeError(error)}</p>
      {automatic && left > 0 && <p data-testid="retry-countdown" className="text-sm text-slate-300">Retrying in {left} s.</p>}
      <div className="flex gap-2">
        {onRetry && <Button onClick={onRetry}>Try again now</Button>}
        {isNotFound(error) && <Link to="/" className="rounded-md px-3 py-1.5 text-sm text-sky-300 hover:underline">Back to the runs</Link>}
      </div>
    </div>
  );
}
