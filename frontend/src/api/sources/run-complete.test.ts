import { afterEach, describe, expect, it, vi } from "vitest";
import { createApiClient } from "../client";
import { fetchRunComplete } from "./run-complete";

afterEach(() => {
  vi.unstubAllGlobals();
});

const RUN = { id: "r1", status: "completed", symbol: "ACME" };

function backend(routes: Record<string, [number, unknown]>) {
  const seen: string[] = [];
  vi.stubGlobal("fetch", vi.fn(async (url: string) => {
    const path = new URL(url).pathname;
    seen.push(`${path}${new URL(url).search}`);
    const [status, body] = routes[path] ?? [404, { error: { code: "not_found", message: path } }];
    return new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });
  }));
  return seen;
}

const direct = () => createApiClient({ path: "direct", backendUrl: "http://b", token: "t" });

describe("a complete run on the direct path", () => {
  it("is put together from the four backend calls, in the api's shape", async () => {
    const seen = backend({
      "/backtests/r1": [200, RUN],
      "/backtests/r1/metrics": [200, { run_id: "r1", periods_per_year: 252, metrics: { sharpe: 1.5 } }],
      "/backtests/r1/equity": [200, { run_id: "r1", count: 2, source_points: 2, time: [1, 2], equity: [1, 2], drawdown: [0, 0] }],
      "/backtests/r1/orders": [200, { run_id: "r1", count: 0, orders: [] }],
    });
    const result = await fetchRunComplete(direct(), "direct", { runId: "r1", targetPoints: 500, includeOrders: true });
    expect(seen).toContain("/backtests/r1/equity?max_points=500");
    expect(result).toMatchObject({ run: RUN, metrics: { sharpe: 1.5 }, periods_per_year: 252, orders: { count: 0 },
      metadata: { cache: "direct", sources: { run: "backend", orders: "backend" }, partial_failures: [] } });
  });

  it("answers a run that has not completed with its detail and no results", async () => {
    const notCompleted: [number, unknown] = [409, { error: { code: "run_not_completed", message: "running" } }];
    backend({ "/backtests/r1": [200, { ...RUN, status: "running" }], "/backtests/r1/metrics": notCompleted,
      "/backtests/r1/equity": notCompleted });
    const result = await fetchRunComplete(direct(), "direct", { runId: "r1", targetPoints: 500, includeOrders: false });
    expect(result).toMatchObject({ metrics: null, equity: null, orders: null,
      metadata: { sources: { metrics: "unavailable", orders: "not_requested" } } });
  });

  it("reports orders that failed instead of failing the page, and fails when the run is not visible", async () => {
    backend({
      "/backtests/r1": [200, RUN],
      "/backtests/r1/metrics": [200, { run_id: "r1", periods_per_year: null, metrics: {} }],
      "/backtests/r1/equity": [200, { run_id: "r1", count: 0, source_points: 0, time: [], equity: [], drawdown: [] }],
      "/backtests/r1/orders": [500, { error: { code: "internal_error", message: "boom" } }],
    });
    const result = await fetchRunComplete(direct(), "direct", { runId: "r1", targetPoints: 500, includeOrders: true });
    expect(result.orders).toBeNull();
    expect(result.metadata.partial_failures).toEqual([{ part: "orders", status: 500, code: "internal_error", message: "boom" }]);
    backend({});
    await expect(fetchRunComplete(direct(), "direct", { runId: "r1", targetPoints: 5, includeOrders: false }))
      .rejects.toMatchObject({ status: 404 });
  });
});
