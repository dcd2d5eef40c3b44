// A token is good when the server lets it list runs; nothing else is needed to sign in.
import { createApiClient, unwrap } from "@/api/client";
import type { DataPath } from "@/api/types";

export async function checkToken(token: string, path: DataPath, backendUrl: string): Promise<void> {
  const client = createApiClient({ path, backendUrl, token });
  await unwrap(client.GET("/api/v1/backtests", { params: { query: { limit: 1 } } }));
}
