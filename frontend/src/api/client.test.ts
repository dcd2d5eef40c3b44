import { afterEach, describe, expect, it, vi } from "vitest";
import { createApiClient, toBackendUrl, unwrap } from "./client";
import { ApiError } from "./errors";

afterEach(() => {
  vi.unstubAllGlobals();
});

function stubFetch(status: number, body: unknown) {
  const calls: { url: string; init: RequestInit }[] = [];
  vi.stubGlobal("fetch", vi.fn(async (url: string, init: RequestInit) => {
    calls.push({ url, init });
    return new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });
  }));
  return calls;
}

describe("api client", () => {
  it("maps an api path onto the backend's own path", () => {
    expect(toBackendUrl("http://app/api/v1/backtests/x/metrics?a=1", "http://b:8000")).toBe("http://b:8000/backtests/x/metrics?a=1");
    expect(toBackendUrl("http://app/api/v1/symbols", "http://b:8000/prefix/")).toBe("http://b:8000/prefix/symbols");
  });

  it("sends the bearer token to the api, or to the backend on the direct path", async () => {
    const calls = stubFetch(200, { items: [], total: 0, limit: 1, offset: 0 });
    const direct = createApiClient({ path: "direct", backendUrl: "http://backend.test", token: "hw_t" });
    await unwrap(direct.GET("/api/v1/backtests", { params: { query: { limit: 1 } } }));
    const bff = createApiClient({ path: "bff", backendUrl: "http://backend.test", token: "hw_t" });
    await unwrap(bff.GET("/api/v1/backtests", { params: { query: { limit: 1 } } }));
    expect(calls.map((c) => c.url)).toEqual(["http://backend.test/backtests?limit=1", `${window.location.origin}/api/v1/backtests?limit=1`]);
    expect(new Headers(calls[0]?.init.headers).get("Authorization")).toBe("Bearer hw_t");
  });

  it("sends bodies on, and reports a 401 to the session", async () => {
    const calls = stubFetch(401, { error: { code: "unauthorized", message: "a valid bearer token is required" } });
    const onUnauthorized = vi.fn();
    const client = createApiClient({ path: "bff", backendUrl: "", token: "bad", onUnauthorized });
    const failure = unwrap(client.POST("/api/v1/backtests", { body: { symbol: "ACME", strategy: "buy_and_hold" } }));
    await expect(failure).rejects.toMatchObject({ status: 401, unauthorized: true });
    expect(onUnauthorized).toHaveBeenCalledOnce();
    expect(JSON.parse(String(calls[0]?.init.body))).toEqual({ symbol: "ACME", strategy: "buy_and_hold" });
  });

  it("turns a validation error into field problems", async () => {
    stubFetch(422, { error: { code: "invalid_input", message: "params.fast: must be smaller than slow",
      correlation_id: "abc", details: [{ field: "params.fast", location: "body", reason: "must be smaller than slow" }] } });
    const client = createApiClient({ path: "bff", backendUrl: "", token: "t" });
    const error = await unwrap(client.GET("/api/v1/symbols")).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({ status: 422, code: "invalid_input", correlationId: "abc",
      details: [{ field: "params.fast", reason: "must be smaller than slow" }] });
  });
});
