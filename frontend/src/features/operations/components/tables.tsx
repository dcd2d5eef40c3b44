// The page's breakdowns: routes (the api beside the backend), caches, watched runs, nodes.
import type { ReactNode } from "react";
import type { OpsCache, OpsNode, OpsRoute, OpsRun } from "../api/ops-api";
import { count, megabytes, ms, percent, perSecond, ratio } from "../utils/format";

function Table({ label, head, children, empty }: { label: string; head: string[]; children: ReactNode[]; empty: string }) {
  if (children.length === 0) return <p className="px-4 py-3 text-sm text-slate-400">{empty}</p>;
  return (
    <div className="overflow-x-auto">
      <table aria-label={label} className="w-full text-left text-sm tabular-nums">
        <thead className="text-xs text-slate-400">
          <tr>{head.map((h) => <th key={h} className="px-3 py-1.5 font-medium">{h}</th>)}</tr>
        </thead>
        <tbody className="divide-y divide-slate-800/70">{children}</tbody>
      </table>
    </div>
  );
}

const cell = "px-3 py-1.5";

/** The API's routes (the web app's files and the health checks are served too, but are not the question). */
export function RoutesTable({ routes }: { routes: readonly OpsRoute[] }) {
  const api = routes.filter((r) => r.route.startsWith("/api/"));
  return (
    <Table label="Routes" empty="No API requests in the last window."
      head={["route", "req/s", "p50", "p95", "p99", "backend p95", "added p95", "errors/s", "backend calls"]}>
      {api.map((r) => (
        <tr key={r.route}>
          <td className={`${cell} font-mono text-xs text-slate-200`}>{r.route}</td>
          <td className={cell}>{perSecond(r.requests_per_s)}</td>
          <td className={cell}>{ms(r.p50_ms)}</td>
          <td className={cell}>{ms(r.p95_ms)}</td>
          <td className={cell}>{ms(r.p99_ms)}</td>
          <td className={cell}>{ms(r.backend_p95_ms)}</td>
          <td className={`${cell} ${(r.added_p95_ms ?? 0) > 100 ? "text-rose-300" : "text-emerald-300"}`}>{ms(r.added_p95_ms)}</td>
          <td className={`${cell} ${r.errors_per_s > 0 ? "text-rose-300" : ""}`}>{perSecond(r.errors_per_s)}</td>
          <td className={cell}>{r.upstream_calls_per_request?.toFixed(2) ?? "–"}</td>
        </tr>
      ))}
    </Table>
  );
}

export function CachesTable({ caches }: { caches: readonly OpsCache[] }) {
  return (
    <Table label="Caches" empty="No cache lookups in the last window." head={["cache", "hit ratio", "hits", "misses"]}>
      {caches.map((c) => (
        <tr key={c.cache}>
          <td className={`${cell} text-slate-200`}>{c.cache}</td>
          <td className={cell}>{ratio(c.hit_ratio)}</td>
          <td className={cell}>{count(c.hits)}</td>
          <td className={cell}>{count(c.misses)}</td>
        </tr>
      ))}
    </Table>
  );
}

export function RunsTable({ runs }: { runs: readonly OpsRun[] }) {
  return (
    <Table label="Watched runs" empty="Nobody is watching a run right now." head={["run", "viewers", "relay"]}>
      {runs.map((r) => (
        <tr key={r.run_id}>
          <td className={`${cell} font-mono text-xs text-slate-200`}>{r.run_id}</td>
          <td className={cell} data-testid="run-viewers">{count(r.viewers)}</td>
          <td className={`${cell} ${r.relay ? "" : "text-rose-300"}`}>{r.relay ?? "none"}</td>
        </tr>
      ))}
    </Table>
  );
}

export function NodesTable({ nodes }: { nodes: readonly OpsNode[] }) {
  return (
    <Table label="Nodes" empty="No api node has reported yet."
      head={["node", "CPU", "memory", "loop lag p95", "open files", "viewers", "fan-out p95", "Redis errors"]}>
      {nodes.map((n) => (
        <tr key={n.node}>
          <td className={`${cell} font-mono text-xs text-slate-200`}>{n.node}</td>
          <td className={cell}>{percent(n.cpu_percent)}</td>
          <td className={cell}>{megabytes(n.rss_mb)}</td>
          <td className={cell}>{ms(n.loop_lag_p95_ms)}</td>
          <td className={cell}>{count(n.open_fds)}</td>
          <td className={cell}>{count(n.viewers)}</td>
          <td className={cell}>{ms(n.fanout_p95_ms)}</td>
          <td className={`${cell} ${n.redis_errors > 0 ? "text-rose-300" : ""}`}>{count(n.redis_errors)}</td>
        </tr>
      ))}
    </Table>
  );
}
