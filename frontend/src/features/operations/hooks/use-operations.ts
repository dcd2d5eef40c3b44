import { useMemo } from "react";
import { useInfiniteQuery, useQuery } from "@tanstack/react-query";
import { createApiClient, type ApiClient } from "@/api/client";
import { ApiError } from "@/api/errors";
import { useAppConfig } from "@/lib/app-config";
import { session, useSession } from "@/lib/session";
import { fetchAudit, fetchSummary } from "../api/ops-api";

// The page follows the nodes' sampling: a new point every couple of seconds.
export const SUMMARY_POLL_MS = 2000;
const AUDIT_POLL_MS = 5000;
export const AUDIT_PAGE_SIZE = 25;

/** A client of the api itself, whatever path the other areas take (operations are the api's). */
function useOpsClient(): ApiClient {
  const { backendUrl } = useAppConfig();
  const { token } = useSession();
  return useMemo(() => createApiClient({ path: "bff", backendUrl, token, onUnauthorized: () => session.reject() }),
    [backendUrl, token]);
}

function refused(error: unknown): boolean {
  return error instanceof ApiError && (error.status === 401 || error.status === 403);
}

export function useOpsSummary() {
  const client = useOpsClient();
  return useQuery({
    queryKey: ["ops", "summary"],
    queryFn: ({ signal }) => fetchSummary(client, signal),
    // A refusal stays a refusal: no polling, no retries.
    refetchInterval: (query) => (refused(query.state.error) ? false : SUMMARY_POLL_MS),
    retry: (count, error) => !refused(error) && count < 2,
  });
}

export function useAuditTrail(enabled: boolean) {
  const client = useOpsClient();
  return useInfiniteQuery({
    queryKey: ["ops", "audit"],
    queryFn: ({ pageParam, signal }) => fetchAudit(client, pageParam, AUDIT_PAGE_SIZE, signal),
    initialPageParam: null as string | null,
    getNextPageParam: (last) => last.next ?? undefined,
    refetchInterval: AUDIT_POLL_MS,
    enabled,
  });
}
