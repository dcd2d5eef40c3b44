// The new-backtest form's values (as typed) and the request they make. Values are sent as typed: the API
// checks them and its reasons are shown next to the fields, so the form never second-guesses the server.
import type { BacktestRequest, StrategyInfo, SymbolInfo } from "@/api/types";
import { fromDateInput, toDateInput } from "@/lib/format";
import { paramSpecs } from "./param-specs";

export type Timeframe = NonNullable<BacktestRequest["timeframe"]>;
export type Mode = NonNullable<BacktestRequest["mode"]>;

export interface BacktestForm {
  symbol: string;
  timeframe: Timeframe;
  strategy: string;
  mode: Mode;
  from: string;
  to: string;
  cash: string;
  commissionRate: string;
  fixedFee: string;
  slippageBps: string;
  /** `auto`: whole units for equities, fractions for currencies and crypto (the backend decides). */
  sizing: "auto" | "whole" | "fractional";
  warmup: boolean;
  /** Annualisation basis; empty: the bar intervals per year the run's bars show. */
  periodsPerYear: string;
  params: Record<string, string | boolean>;
}

/** Form fields by the names the API uses for them in its errors. */
export const FIELD_NAMES: Record<string, string> = {
  symbol: "symbol",
  timeframe: "timeframe",
  strategy: "strategy",
  mode: "mode",
  from: "from",
  to: "to",
  cash: "cash",
  commissionRate: "commission_rate",
  fixedFee: "fixed_fee",
  slippageBps: "slippage_bps",
  sizing: "fractional",
  warmup: "warmup",
  periodsPerYear: "periods_per_year",
};

export const DAY_S = 86_400;

export function defaultParams(strategy: StrategyInfo | undefined): Record<string, string | boolean> {
  if (!strategy) return {};
  const out: Record<string, string | boolean> = {};
  for (const spec of paramSpecs(strategy.params_schema, strategy.defaults)) {
    out[spec.name] = typeof spec.defaultValue === "boolean" ? spec.defaultValue
      : spec.defaultValue === null ? "" : String(spec.defaultValue);
  }
  return out;
}

/** The dataset's whole range as date inputs, or empty (the backend then uses all bars). */
export function datasetRange(symbol: SymbolInfo | undefined, timeframe: Timeframe): { from: string; to: string } {
  const dataset = symbol?.datasets.find((d) => d.timeframe === timeframe);
  if (!dataset || dataset.first_time === null || dataset.last_time === null) return { from: "", to: "" };
  return { from: toDateInput(dataset.first_time), to: toDateInput(dataset.last_time) };
}

function numberOrText(value: string): number | string | undefined {
  const trimmed = value.trim();
  if (trimmed === "") return undefined;
  const n = Number(trimmed);
  return Number.isFinite(n) ? n : trimmed;
}

function numeric(value: string): number | undefined {
  const parsed = numberOrText(value);
  return typeof parsed === "number" ? parsed : undefined;
}

export function buildRequest(form: BacktestForm): BacktestRequest {
  const params: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(form.params)) {
    const parsed = typeof value === "boolean" ? value : numberOrText(value);
    // A choice such as "state" stays text; numbers typed as text become numbers.
    if (parsed !== undefined) params[name] = parsed;
  }
  const from = fromDateInput(form.from);
  const toDay = fromDateInput(form.to);
  const request: BacktestRequest = {
    symbol: form.symbol,
    strategy: form.strategy,
    timeframe: form.timeframe,
    mode: form.mode,
    params,
    warmup: form.warmup,
    from,
    // A date as the end means the whole of that day.
    to: toDay === null ? null : toDay + DAY_S - 1,
  };
  const cash = numeric(form.cash);
  const commission = numeric(form.commissionRate);
  const fixedFee = numeric(form.fixedFee);
  const slippage = numeric(form.slippageBps);
  const periodsPerYear = numeric(form.periodsPerYear);
  if (form.sizing !== "auto") request.fractional = form.sizing === "fractional";
  if (periodsPerYear !== undefined) request.periods_per_year = periodsPerYear;
  if (cash !== undefined) request.cash = cash;
  if (commission !== undefined) request.commission_rate = commission;
  if (fixedFee !== undefined) request.fixed_fee = fixedFee;
  if (slippage !== undefined) request.slippage_bps = slippage;
  return request;
}
