// The operations page: the api against the backend, caches, streams and processes, live, for operators.
import { Card, CardTitle } from "@/components/ui/card";
import { EmptyState, ErrorState, LoadingState } from "@/components/ui/states";
import { ApiError } from "@/api/errors";
import { useOpsSummary } from "../hooks/use-operations";
import { count, megabytes, ms, percent, perSecond, ratio } from "../utils/format";
import { AuditList } from "./audit-list";
import { StatTile } from "./stat-tile";
import { CachesTable, NodesTable, RoutesTable, RunsTable } from "./tables";

export function OperationsPage() {
  const summary = useOpsSummary();
  if (summary.isPending) return <LoadingState label="Reading the nodes' metrics…" />;
  if (summary.isError) {
    if (summary.error instanceof ApiError && summary.error.status === 403) {
      return (
        <EmptyState title="Operations are for operators">
          <span data-testid="ops-forbidden">{summary.error.message}</span>
        </EmptyState>
      );
    }
    return <ErrorState error={summary.error} title="The operations summary could not be loaded" onRetry={() => void summary.refetch()} />;
  }
  const data = summary.data;
  const { history } = data;
  // Is the api slower than going direct right now: the most it adds to a passthrough call (p95, same call).
  const added = data.routes.map((r) => r.added_p95_ms).filter((v): v is number => v !== null);
  const slower = added.length > 0 ? Math.max(...added) : null;
  return (
    <div className="flex flex-col gap-4">
      <div className="flex flex-wrap items-baseline justify-between gap-2">
        <h1 className="text-xl font-semibold text-white">Operations</h1>
        <span className="text-xs text-slate-400">
          {data.nodes.length} api node{data.nodes.length === 1 ? "" : "s"} · every {data.interval_s} s ·
          Redis {data.ready.redis} · backend {data.ready.backend}
        </span>
      </div>
      <div role="status" data-testid="ops-health"
        className={`rounded-md border px-4 py-2 text-sm ${data.degraded.length ? "border-amber-600/60 text-amber-200" : "border-emerald-700/60 text-emerald-200"}`}>
        {data.degraded.length === 0 ? "Nothing is degraded." : (
          <ul className="list-disc pl-4">{data.degraded.map((problem) => <li key={problem}>{problem}</li>)}</ul>
        )}
      </div>

      <Card>
        <CardTitle>api vs direct<span data-testid="ops-added" className="ml-2 font-normal text-slate-400">
          {slower === null ? "no passthrough calls in the last window"
            : `the api adds at most ${ms(Math.max(0, slower))} (p95) over calling the backend directly`}</span></CardTitle>
        <div className="grid grid-cols-2 gap-2 p-3 md:grid-cols-4">
          <StatTile label="Requests" series="requests_per_s" history={history} format={perSecond} />
          <StatTile label="api p95" series="p95_ms" history={history} format={ms} />
          <StatTile label="backend p95 (api's calls)" series="backend_p95_ms" history={history} format={ms} tone="text-violet-300" />
          <StatTile label="Errors (5xx)" series="errors_per_s" history={history} format={perSecond} tone="text-rose-300" />
        </div>
        <RoutesTable routes={data.routes} />
      </Card>

      <Card>
        <CardTitle>Cache</CardTitle>
        <div className="grid grid-cols-2 gap-2 p-3 md:grid-cols-4">
          <StatTile label="Hit ratio" series="cache_hit_ratio" history={history} format={ratio} tone="text-emerald-300" />
        </div>
        <CachesTable caches={data.caches} />
      </Card>

      <Card>
        <CardTitle>Streams</CardTitle>
        <div className="grid grid-cols-2 gap-2 p-3 md:grid-cols-4">
          <StatTile label="Viewers" series="viewers" history={history} format={count} />
          <StatTile label="Messages in" series="messages_in_per_s" history={history} format={perSecond} />
          <StatTile label="Fan-out p95 (publish → write)" series="fanout_p95_ms" history={history} format={ms} />
          <StatTile label="Viewers resynced" series="resyncs" history={history} format={count} tone="text-amber-300" />
        </div>
        <RunsTable runs={data.runs} />
      </Card>

      <Card>
        <CardTitle>Processes</CardTitle>
        <div className="grid grid-cols-2 gap-2 p-3 md:grid-cols-4">
          <StatTile label="CPU (busiest node)" series="cpu_percent" history={history} format={percent} />
          <StatTile label="Memory (largest node)" series="rss_mb" history={history} format={megabytes} />
          <StatTile label="Event-loop lag p95" series="loop_lag_p95_ms" history={history} format={ms} />
        </div>
        <NodesTable nodes={data.nodes} />
      </Card>

      <Card>
        <CardTitle>Audit trail</CardTitle>
        <AuditList />
      </Card>
    </div>
  );
}
