// `GET /api/v1/config`: the server's default data path for each area, and where browsers find the backend.
import { unwrap, type ApiClient } from "./client";
import type { AppConfig } from "./types";

export function fetchAppConfig(client: ApiClient, signal?: AbortSignal): Promise<AppConfig> {
  return unwrap(client.GET("/api/v1/config", { signal }));
}
