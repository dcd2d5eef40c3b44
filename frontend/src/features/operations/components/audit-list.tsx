import { Button } from "@/components/ui/button";
import { ErrorState, LoadingState } from "@/components/ui/states";
import { useAuditTrail } from "../hooks/use-operations";

/** The audit trail, newest first; older pages load on demand. */
export function AuditList() {
  const audit = useAuditTrail(true);
  if (audit.isPending) return <LoadingState label="Loading the audit trail…" />;
  if (audit.isError) return <ErrorState error={audit.error} title="The audit trail could not be loaded" />;
  const events = audit.data.pages.flatMap((page) => page.events);
  if (events.length === 0) return <p className="px-4 py-3 text-sm text-slate-400">Nothing has changed yet.</p>;
  return (
    <div className="flex flex-col gap-2 pb-3">
      <ol aria-label="Audit events" className="divide-y divide-slate-800/70 text-sm">
        {events.map((e) => (
          <li key={e.id} data-testid="audit-event" className="grid grid-cols-[11rem_10rem_6rem_1fr_auto] gap-3 px-4 py-1.5">
            <time className="tabular-nums text-slate-400" dateTime={new Date(e.at_ms).toISOString()}>
              {new Date(e.at_ms).toISOString().replace("T", " ").slice(0, 19)}
            </time>
            <span className="text-slate-200">{e.action.replaceAll("_", " ")}</span>
            <span className="text-slate-300">{e.user || "–"}</span>
            <span className="truncate font-mono text-xs text-slate-400">{e.run_id}</span>
            <span className={/^[45]/.test(e.outcome) || e.outcome === "forbidden" ? "text-rose-300" : "text-emerald-300"}>
              {e.outcome}
            </span>
          </li>
        ))}
      </ol>
      {audit.hasNextPage && (
        <Button variant="ghost" className="self-center" onClick={() => void audit.fetchNextPage()}
          disabled={audit.isFetchingNextPage}>
          Older events
        </Button>
      )}
    </div>
  );
}
