import { describe, expect, it } from "vitest";
import type { StrategyInfo, SymbolInfo } from "@/api/types";
import { buildRequest, datasetRange, defaultParams, type BacktestForm } from "./backtest-form";
import { formErrors } from "./field-errors";
import { describeBounds, paramSpecs } from "./param-specs";

const CROSSOVER: StrategyInfo = {
  name: "ma_crossover", title: "Moving-average crossover", description: "", defaults: { fast: 10, slow: 50 },
  params_schema: { $defs: { Signal: { enum: ["state", "event"], title: "Signal", type: "string" } }, properties: {
    signal: { $ref: "#/$defs/Signal", default: "state", description: "when to trade" },
    fast: { type: "integer", minimum: 1, maximum: 10_000, default: 10, title: "Fast", description: "Fast SMA" },
    slow: { type: "integer", minimum: 2, maximum: 50_000, default: 50, title: "Slow" },
    width: { type: "number", exclusiveMinimum: 0, maximum: 10, default: 2 },
  } },
};

const FORM: BacktestForm = {
  symbol: "ACME", timeframe: "hour", strategy: "ma_crossover", mode: "long_short", from: "2025-01-02",
  to: "2025-03-31", cash: "5000", commissionRate: "0.001", fixedFee: "", slippageBps: "2", sizing: "fractional",
  warmup: false, periodsPerYear: "252", params: { fast: "20", slow: " ", flag: true },
};

describe("new backtest form", () => {
  it("reads each parameter's type, default and bounds from the published schema", () => {
    const specs = paramSpecs(CROSSOVER.params_schema, CROSSOVER.defaults);
    expect(specs.map((s) => [s.name, s.kind, s.defaultValue, s.minimum, s.maximum])).toEqual([
      ["signal", "choice", "state", null, null],
      ["fast", "integer", 10, 1, 10_000], ["slow", "integer", 50, 2, 50_000], ["width", "number", 2, 0, 10],
    ]);
    expect(specs[0]).toMatchObject({ title: "Signal", options: ["state", "event"], description: "when to trade" });
    expect(specs.map(describeBounds)).toEqual(["default state", "default 10 · ≥ 1 and ≤ 10,000", "default 50 · ≥ 2 and ≤ 50,000",
      "default 2 · > 0 and ≤ 10"]);
    expect(defaultParams(CROSSOVER)).toEqual({ signal: "state", fast: "10", slow: "50", width: "2" });
  });

  it("makes the request as typed, leaving out empty values so the server's defaults apply", () => {
    expect(buildRequest(FORM)).toEqual({
      symbol: "ACME", strategy: "ma_crossover", timeframe: "hour", mode: "long_short", fractional: true,
      warmup: false, periods_per_year: 252, params: { fast: 20, flag: true }, from: 1_735_776_000,
      to: 1_743_465_599, cash: 5000, commission_rate: 0.001, slippage_bps: 2,
    });
    const automatic = buildRequest({ ...FORM, sizing: "auto", periodsPerYear: "" });
    expect("fractional" in automatic || "periods_per_year" in automatic).toBe(false);
  });

  it("sends values it cannot read as numbers as they are, for the server to name", () => {
    expect(buildRequest({ ...FORM, params: { fast: "ten" } }).params).toEqual({ fast: "ten" });
  });

  it("offers a symbol's whole dataset range", () => {
    const symbol = { symbol: "ACME", datasets: [{ timeframe: "hour", first_time: 1_735_776_000, last_time: 1_767_139_200,
      rows: 10, data_version: 1 }] } as SymbolInfo;
    expect(datasetRange(symbol, "hour")).toEqual({ from: "2025-01-02", to: "2025-12-31" });
    expect(datasetRange(symbol, "minute")).toEqual({ from: "", to: "" });
  });

  it("puts each of the API's reasons next to its field, and the rest above the form", () => {
    const errors = formErrors([
      { field: "params.fast", location: "body", reason: "must be smaller than slow" },
      { field: "cash", location: "body", reason: "Input should be greater than 0" },
      { field: "cash", location: "body", reason: "second" },
      { field: "body", location: "body", reason: "not an object" },
    ], new Set(["cash", "params.fast"]));
    expect(errors).toEqual({
      fields: { "params.fast": "must be smaller than slow", cash: "Input should be greater than 0; second" },
      other: ["body: not an object"],
    });
  });
});
