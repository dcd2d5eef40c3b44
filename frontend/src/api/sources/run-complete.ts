// A run with its metrics, equity and orders: one `GET /api/v1/runs/{id}/complete` through the api, or, on the
// direct path, the four backend calls it stands for, made at once and put together in the same shape.
import { unwrap, type ApiClient } from "../client";
import { ApiError, describeError } from "../errors";
import type { DataPath, RunComplete } from "../types";

export interface RunCompleteRequest {
  runId: string;
  /** Most equity points (decimated by MinMaxLTTB on the server). */
  targetPoints: number;
  includeOrders: boolean;
}

export function runCompleteQueryKey(path: DataPath, request: RunCompleteRequest): readonly unknown[] {
  return ["run-complete", path, request.runId, request.targetPoints, request.includeOrders];
}

function viaApi(client: ApiClient, request: RunCompleteRequest, signal?: AbortSignal): Promise<RunComplete> {
  return unwrap(client.GET("/api/v1/runs/{run_id}/complete", {
    params: {
      path: { run_id: request.runId },
      query: { target_points: request.targetPoints, include_orders: request.includeOrders },
    },
    signal,
  }));
}

const NOT_COMPLETED = 409;

async function viaBackend(client: ApiClient, request: RunCompleteRequest,
  signal?: AbortSignal): Promise<RunComplete> {
  const started = performance.now();
  const path = { run_id: request.runId };
  const [run, metrics, equity, orders] = await Promise.allSettled([
    unwrap(client.GET("/api/v1/backtests/{run_id}", { params: { path }, signal })),
    unwrap(client.GET("/api/v1/backtests/{run_id}/metrics", { params: { path }, signal })),
    unwrap(client.GET("/api/v1/backtests/{run_id}/equity", {
      params: { path, query: { max_points: request.targetPoints } }, signal })),
    request.includeOrders
      ? unwrap(client.GET("/api/v1/backtests/{run_id}/orders", { params: { path }, signal }))
      : Promise.resolve(null),
  ]);
  if (run.status === "rejected") throw run.reason;
  const notCompleted = [metrics, equity].some(
    (part) => part.status === "rejected" && part.reason instanceof ApiError && part.reason.status === NOT_COMPLETED);
  if (!notCompleted) {
    for (const part of [metrics, equity]) if (part.status === "rejected") throw part.reason;
  }
  const ordersFailed = orders.status === "rejected";
  const completed = !notCompleted && metrics.status === "fulfilled" && equity.status === "fulfilled";
  return {
    run: run.value,
    metrics: completed ? metrics.value.metrics : null,
    periods_per_year: completed ? metrics.value.periods_per_year : null,
    equity: completed ? equity.value : null,
    orders: completed && orders.status === "fulfilled" ? orders.value : null,
    metadata: {
      load_time_ms: Math.round((performance.now() - started) * 1000) / 1000,
      cache: "direct",
      sources: {
        run: "backend",
        metrics: completed ? "backend" : "unavailable",
        equity: completed ? "backend" : "unavailable",
        orders: !request.includeOrders ? "not_requested" : completed && !ordersFailed ? "backend" : "unavailable",
      },
      partial_failures: ordersFailed && completed ? [{
        part: "orders",
        status: orders.reason instanceof ApiError ? orders.reason.status : null,
        code: orders.reason instanceof ApiError ? orders.reason.code : "network_error",
        message: describeError(orders.reason),
      }] : [],
    },
  };
}

export function fetchRunComplete(client: ApiClient, path: DataPath, request: RunCompleteRequest,
  signal?: AbortSignal): Promise<RunComplete> {
  return path === "direct" ? viaBackend(client, request, signal) : viaApi(client, request, signal);
}
