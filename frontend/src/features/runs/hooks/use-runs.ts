import { keepPreviousData, useMutation, useQueries, useQuery, useQueryClient } from "@tanstack/react-query";
import type { BacktestRequest, RunDetail } from "@/api/types";
import { useApiClient } from "@/lib/app-config";
import {
  createBacktest, fetchMetrics, fetchStrategies, fetchSymbols, listRuns, shareRun, unshareRun,
} from "../api/runs-api";

export const PAGE_SIZE = 20;
// While a run is queued or running, its progress is polled this often.
const PROGRESS_POLL_MS = 1000;

function isActive(run: RunDetail): boolean {
  return run.status === "queued" || run.status === "running";
}

export function useRunsPage(page: number) {
  const { client, path } = useApiClient("runs");
  return useQuery({
    queryKey: ["runs", path, page],
    queryFn: ({ signal }) => listRuns(client, PAGE_SIZE, page * PAGE_SIZE, signal),
    placeholderData: keepPreviousData,
    refetchInterval: (query) => (query.state.data?.items.some(isActive) ? PROGRESS_POLL_MS : false),
  });
}

/** Headline metrics of the completed runs shown; a completed run's metrics never change. */
export function useHeadlineMetrics(runs: readonly RunDetail[]) {
  const { client, path } = useApiClient("runs");
  const completed = runs.filter((run) => run.status === "completed");
  const results = useQueries({
    queries: completed.map((run) => ({
      queryKey: ["metrics", path, run.id],
      queryFn: ({ signal }: { signal: AbortSignal }) => fetchMetrics(client, run.id, signal),
      staleTime: Infinity,
    })),
  });
  return new Map(completed.map((run, i) => [run.id, results[i]]));
}

export function useStrategies() {
  const { client, path } = useApiClient("runs");
  return useQuery({ queryKey: ["strategies", path], queryFn: ({ signal }) => fetchStrategies(client, signal),
    staleTime: Infinity });
}

export function useSymbols() {
  const { client, path } = useApiClient("runs");
  return useQuery({ queryKey: ["symbols", path], queryFn: ({ signal }) => fetchSymbols(client, signal),
    staleTime: 60_000 });
}

export function useCreateBacktest() {
  const { client } = useApiClient("runs");
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (body: BacktestRequest) => createBacktest(client, body),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: ["runs"] }),
  });
}

export function useSharing(runId: string) {
  const { client } = useApiClient("runs");
  const queryClient = useQueryClient();
  const refresh = () => Promise.all([
    queryClient.invalidateQueries({ queryKey: ["runs"] }),
    queryClient.invalidateQueries({ queryKey: ["run-complete"] }),
  ]);
  const share = useMutation({ mutationFn: (user: string) => shareRun(client, runId, user), onSuccess: refresh });
  const unshare = useMutation({ mutationFn: (user: string) => unshareRun(client, runId, user), onSuccess: refresh });
  return { share, unshare };
}
