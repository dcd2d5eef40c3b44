import { useQuery } from "@tanstack/react-query";
import { fetchRunComplete, runCompleteQueryKey } from "@/api/sources/run-complete";
import { useApiClient } from "@/lib/app-config";

// Equity before the cursor is drawn from the run's curve at this resolution; the stream adds every bar after.
const EQUITY_POINTS = 5_000;

/** The run being played, with its equity curve and fills (history before the cursor). */
export function usePlaybackRun(runId: string) {
  const { client, path } = useApiClient("runs");
  const request = { runId, targetPoints: EQUITY_POINTS, includeOrders: true };
  return useQuery({
    queryKey: runCompleteQueryKey(path, request),
    queryFn: ({ signal }) => fetchRunComplete(client, path, request, signal),
    staleTime: Infinity,
  });
}
