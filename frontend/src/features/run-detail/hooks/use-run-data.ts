import { useQuery } from "@tanstack/react-query";
import { candlesQueryKey, fetchCandles, type CandleRequest } from "@/api/sources/candles";
import { fetchRunComplete, runCompleteQueryKey, type RunCompleteRequest } from "@/api/sources/run-complete";
import { unwrap } from "@/api/client";
import { useApiClient } from "@/lib/app-config";

const PROGRESS_POLL_MS = 1000;

/** The whole run in one call; polled while it is queued or running, kept for good once completed. */
export function useRunComplete(request: RunCompleteRequest) {
  const { client, path } = useApiClient("runs");
  return useQuery({
    queryKey: runCompleteQueryKey(path, request),
    queryFn: ({ signal }) => fetchRunComplete(client, path, request, signal),
    staleTime: (query) => (query.state.data?.run.status === "completed" ? Infinity : 0),
    refetchInterval: (query) => {
      const status = query.state.data?.run.status;
      return status === "queued" || status === "running" ? PROGRESS_POLL_MS : false;
    },
  });
}

export function useCandles(request: CandleRequest | null) {
  const { client, path } = useApiClient("charts");
  return useQuery({
    queryKey: request ? candlesQueryKey(path, request) : ["candles", "none"],
    queryFn: ({ signal }) => (request ? fetchCandles(client, path, request, signal) : Promise.reject(new Error("no run"))),
    enabled: request !== null,
    staleTime: 5 * 60_000,
    placeholderData: (previous) => previous,
  });
}

/** Points per line of the strategy's own lines: about one per candle of the default view. */
const INDICATOR_POINTS = 10_000;

/** The lines the run's strategy computed (moving averages, bands, an oscillator), decimated by the backend. */
export function useIndicators(runId: string, enabled: boolean) {
  const { client, path } = useApiClient("charts");
  return useQuery({
    queryKey: ["indicators", path, runId, INDICATOR_POINTS],
    queryFn: ({ signal }) => unwrap(client.GET("/api/v1/backtests/{run_id}/indicators", {
      params: { path: { run_id: runId }, query: { max_points: INDICATOR_POINTS } }, signal })),
    enabled,
    staleTime: Infinity, // a completed run's lines never change
  });
}

/** The run's round-trip trades with their excursions, as the backend pairs them from the fills. */
export function useTrades(runId: string, enabled: boolean) {
  const { client, path } = useApiClient("runs");
  return useQuery({
    queryKey: ["trades", path, runId],
    queryFn: ({ signal }) => unwrap(client.GET("/api/v1/backtests/{run_id}/trades", {
      params: { path: { run_id: runId } }, signal })),
    enabled,
    staleTime: Infinity, // a completed run's trades never change
  });
}

/** How often the run page asks how many watch its replay: about as often as the api nodes record their counts. */
const VIEWERS_POLL_MS = 5_000;

/** How many people watch the run's shared replay now (every api node's viewers; only the api knows it). */
export function useRunViewers(runId: string, enabled: boolean) {
  const { client, path } = useApiClient("playback");
  const shared = enabled && path === "bff";
  return useQuery({
    queryKey: ["run-viewers", runId],
    queryFn: ({ signal }) => unwrap(client.GET("/api/v1/runs/{run_id}/viewers", {
      params: { path: { run_id: runId } }, signal })),
    enabled: shared,
    refetchInterval: VIEWERS_POLL_MS,
  });
}
