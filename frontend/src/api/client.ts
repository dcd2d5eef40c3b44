// The typed HTTP client: openapi-fetch over the paths generated from the api's OpenAPI document.
//
// The api passes every backend route through under `/api/v1/` unchanged, so the same typed paths also
// address the backend itself: a direct client sends `/api/v1/backtests` to `<backend>/backtests`. That is
// what lets each area of the app switch between the two at run time without a second client to keep in step.
import createClient, { type Client } from "openapi-fetch";
import { apiErrorFrom, RequestTimeout } from "./errors";
import type { paths } from "./generated/api-schema";
import type { DataPath } from "./types";

export type ApiClient = Client<paths>;

export const API_PREFIX = "/api/v1";

/** A request that has not answered in this long is given up (a hung server must not leave a page loading). */
export const REQUEST_TIMEOUT_MS = 15_000;

export interface ClientOptions {
  path: DataPath;
  /** The backend's URL as this browser reaches it (used by the direct path). */
  backendUrl: string;
  token: string | null;
  /** Called when a request was refused with 401: the token is not (or no longer) valid. */
  onUnauthorized?: () => void;
}

/** `/api/v1/backtests?x` → `/backtests?x` on the backend: the api's passthrough in reverse. */
export function toBackendUrl(url: string, backendUrl: string): string {
  const parsed = new URL(url);
  const base = new URL(backendUrl);
  const path = parsed.pathname.startsWith(`${API_PREFIX}/`) ? parsed.pathname.slice(API_PREFIX.length) : parsed.pathname;
  return `${base.origin}${base.pathname.replace(/\/$/, "")}${path}${parsed.search}`;
}

export function createApiClient(options: ClientOptions): ApiClient {
  const baseUrl = options.path === "direct" ? options.backendUrl : window.location.origin;
  return createClient<paths>({ baseUrl, fetch: (request) => send(request, options) });
}

async function send(request: Request, options: ClientOptions): Promise<Response> {
  const headers = new Headers(request.headers);
  if (options.token) headers.set("Authorization", `Bearer ${options.token}`);
  const url = options.path === "direct" ? toBackendUrl(request.url, options.backendUrl) : request.url;
  // Bodies here are small JSON documents: read once and sent again to the chosen URL.
  const body = request.method === "GET" || request.method === "HEAD" ? undefined : await request.text();
  // Whoever asked may cancel (the query went away); otherwise the request ends at the timeout.
  const timeout = AbortSignal.timeout(REQUEST_TIMEOUT_MS);
  const response = await fetch(url, { method: request.method, headers, body,
    signal: AbortSignal.any([request.signal, timeout]), credentials: "omit" }).catch((error: unknown) => {
    if (timeout.aborted) throw new RequestTimeout(REQUEST_TIMEOUT_MS);
    throw error;
  });
  if (response.status === 401) options.onUnauthorized?.();
  return response;
}

interface Answer<T> {
  data?: T;
  error?: unknown;
  response: Response;
}

/** The data of a successful answer, or an ApiError naming what the server said was wrong. */
export async function unwrap<T>(pending: Promise<Answer<T>>): Promise<Exclude<T, undefined>> {
  const { data, error, response } = await pending;
  if (!response.ok || data === undefined) throw apiErrorFrom(response.status, error);
  // openapi-fetch types the answer as a union of success and failure; `data` is set exactly on success.
  return data as Exclude<T, undefined>;
}
