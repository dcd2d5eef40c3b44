// The operations calls. They always go through the api: the summary is of the api's own nodes.
import { unwrap, type ApiClient } from "@/api/client";
import type { components } from "@/api/generated/api-schema";

type Schemas = components["schemas"];
export type OpsSummary = Schemas["OpsSummaryResponse"];
export type OpsPoint = Schemas["Point"];
export type OpsRoute = Schemas["RouteRow"];
export type OpsCache = Schemas["CacheRow"];
export type OpsRun = Schemas["RunRow"];
export type OpsNode = Schemas["NodeRow"];
export type AuditPage = Schemas["AuditPage"];
export type AuditEvent = Schemas["AuditEvent"];

export function fetchSummary(client: ApiClient, signal?: AbortSignal): Promise<OpsSummary> {
  return unwrap(client.GET("/api/v1/ops/summary", { signal }));
}

export function fetchAudit(client: ApiClient, before: string | null, limit: number,
  signal?: AbortSignal): Promise<AuditPage> {
  return unwrap(client.GET("/api/v1/ops/audit", {
    params: { query: { limit, ...(before ? { before } : {}) } },
    signal,
  }));
}
