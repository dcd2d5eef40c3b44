import { QueryClient } from "@tanstack/react-query";
import { isTransient, RequestTimeout } from "@/api/errors";

export function createQueryClient(): QueryClient {
  return new QueryClient({
    defaultOptions: {
      queries: {
        staleTime: 10_000,
        refetchOnWindowFocus: false,
        // A refusal (4xx) does not change by asking again; a network blip or a 5xx may. A request that timed out
        // has already made the person wait: the page says so, and retries with a countdown they can see.
        retry: (failures, error) => failures < 2 && isTransient(error) && !(error instanceof RequestTimeout),
      },
    },
  });
}
