import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useAppConfig } from "@/lib/app-config";
import { session } from "@/lib/session";
import { checkToken } from "../api/check-token";

export function useSignIn() {
  const { paths, backendUrl } = useAppConfig();
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (token: string) => checkToken(token, paths.runs, backendUrl),
    onSuccess: (_data, token) => {
      // Answers cached for another token must never show up for this one.
      queryClient.removeQueries({ predicate: (query) => query.queryKey[0] !== "app-config" });
      session.signIn(token);
    },
  });
}
