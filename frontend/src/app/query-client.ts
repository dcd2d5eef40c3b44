import { QueryClient } from "@tanstack/react-query";
import { ApiError } from "@/api/errors";

export function createQueryClient(): QueryClient {
  return new QueryClient({
    defaultOptions: {
      queries: {
        staleTime: 10_000,
        refetchOnWindowFocus: false,
        // A refusal (4xx) does not change by asking again; a network blip or a 5xx may.
        retry: (failures, error) => failures < 2 && !(error instanceof ApiError && error.status < 500 && error.status > 0),
      },
    },
  });
}
