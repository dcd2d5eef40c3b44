// The runs area's calls; each goes through the api or straight to the backend, whichever the area uses.
import { unwrap, type ApiClient } from "@/api/client";
import type { BacktestRequest, RunDetail, RunList, StrategyInfo, SymbolInfo } from "@/api/types";

export function listRuns(client: ApiClient, limit: number, offset: number, signal?: AbortSignal): Promise<RunList> {
  return unwrap(client.GET("/api/v1/backtests", {
    params: { query: { limit, offset } },
    signal,
  }));
}

/** A run's metrics by name (the runs table shows a few of them). */
export async function fetchMetrics(client: ApiClient, runId: string,
  signal?: AbortSignal): Promise<Record<string, unknown>> {
  return (await unwrap(client.GET("/api/v1/backtests/{run_id}/metrics", {
    params: { path: { run_id: runId } },
    signal,
  }))).metrics;
}

export async function fetchStrategies(client: ApiClient, signal?: AbortSignal): Promise<StrategyInfo[]> {
  return (await unwrap(client.GET("/api/v1/backtests/strategies", { signal }))).strategies;
}

export async function fetchSymbols(client: ApiClient, signal?: AbortSignal): Promise<SymbolInfo[]> {
  return (await unwrap(client.GET("/api/v1/symbols", { signal }))).symbols;
}

export function createBacktest(client: ApiClient, body: BacktestRequest): Promise<RunDetail> {
  return unwrap(client.POST("/api/v1/backtests", { body }));
}

export function shareRun(client: ApiClient, runId: string, user: string): Promise<RunDetail> {
  return unwrap(client.POST("/api/v1/backtests/{run_id}/shares", {
    params: { path: { run_id: runId } },
    body: { user },
  }));
}

export function unshareRun(client: ApiClient, runId: string, user: string): Promise<RunDetail> {
  return unwrap(client.DELETE("/api/v1/backtests/{run_id}/shares/{user}", {
    params: { path: { run_id: runId, user } },
  }));
}
