// Which metrics the run page shows as cards, how each is formatted, and how each ratio is annualised
// (definitions: docs/engine.md, Metrics).
import { formatDuration, formatInteger, formatMoney, formatNumber, formatPercent } from "@/lib/format";
import { metricValue } from "@/lib/metrics";

export interface MetricCard {
  key: string;
  label: string;
  value: string;
  /** How the number is made comparable across runs (annualisation), or what it is relative to. */
  note: string;
  tone: "positive" | "negative" | "neutral";
}

type Format = "percent" | "ratio" | "money" | "integer" | "duration";

interface Definition {
  key: string;
  label: string;
  format: Format;
  note: (periodsPerYear: string) => string;
  signed?: boolean;
}

const DEFINITIONS: readonly Definition[] = [
  { key: "total_return", label: "Total return", format: "percent", signed: true, note: () => "final equity / initial cash − 1" },
  { key: "cagr", label: "CAGR", format: "percent", signed: true, note: () => "compounded per calendar year" },
  { key: "annualized_return", label: "Annualised return", format: "percent", signed: true,
    note: (ppy) => `mean period return × ${ppy} periods/yr` },
  { key: "annualized_volatility", label: "Annualised volatility", format: "percent",
    note: (ppy) => `std of period returns × √${ppy}` },
  { key: "sharpe", label: "Sharpe ratio", format: "ratio", signed: true,
    note: (ppy) => `annualised × √${ppy} periods/yr, risk-free 0` },
  { key: "sortino", label: "Sortino ratio", format: "ratio", signed: true,
    note: (ppy) => `annualised × √${ppy} periods/yr, downside deviation` },
  { key: "calmar", label: "Calmar ratio", format: "ratio", signed: true, note: () => "CAGR / |max drawdown| (annual)" },
  { key: "max_drawdown", label: "Max drawdown", format: "percent", note: () => "deepest fall from a running peak" },
  { key: "max_drawdown_duration_s", label: "Longest drawdown", format: "duration", note: () => "peak to recovery (or end)" },
  { key: "buy_and_hold_return", label: "Buy and hold", format: "percent", signed: true, note: () => "price only, no costs" },
  { key: "exposure", label: "Exposure", format: "percent", note: () => "bars closing with a position" },
  { key: "trades", label: "Trades", format: "integer", note: () => "closed round trips" },
  { key: "win_rate", label: "Win rate", format: "percent", note: () => "trades with net PnL > 0" },
  { key: "profit_factor", label: "Profit factor", format: "ratio", note: () => "gross wins / gross losses" },
  { key: "avg_trade", label: "Average trade", format: "money", signed: true, note: () => "net of fees" },
  { key: "expectancy", label: "Expectancy", format: "percent", signed: true, note: () => "mean trade return on money at risk" },
  { key: "final_equity", label: "Final equity", format: "money", note: () => "cash + position at the last close" },
  { key: "commissions", label: "Fees paid", format: "money", note: () => "commission and fixed fees" },
];

function format(value: number | null, kind: Format): string {
  switch (kind) {
    case "percent": return formatPercent(value);
    case "ratio": return formatNumber(value);
    case "money": return formatMoney(value);
    case "integer": return formatInteger(value);
    case "duration": return formatDuration(value);
  }
}

// Figures that only exist once trades have closed: with none, the card says so instead of a bare dash.
const PER_TRADE = new Set(["win_rate", "profit_factor", "avg_trade", "expectancy"]);

/** Why a card reads as it does, when the number alone would puzzle a trader. */
function explain(key: string, value: number | null, metrics: Record<string, unknown> | null): string | null {
  const trades = metricValue(metrics, "trades");
  if (key === "trades" && value === 0) return "no round trip closed (a position held to the end is not counted)";
  if (PER_TRADE.has(key) && value === null) return trades === 0 ? "needs closed trades: this run closed none" : null;
  const cagr = metricValue(metrics, "cagr");
  if (key === "annualized_return" && value !== null && cagr !== null && Math.abs(value - cagr) > 0.1) {
    return "the arithmetic mean scaled up: with swinging returns it parts from CAGR (what compounding gave)";
  }
  return null;
}

export function metricCards(metrics: Record<string, unknown> | null, periodsPerYear: number | null): MetricCard[] {
  const ppy = periodsPerYear === null ? "?" : formatInteger(periodsPerYear);
  return DEFINITIONS.map((d) => {
    const value = metricValue(metrics, d.key);
    const tone = !d.signed || value === null || value === 0 ? "neutral" : value > 0 ? "positive" : "negative";
    return { key: d.key, label: d.label, value: format(value, d.format), note: explain(d.key, value, metrics) ?? d.note(ppy),
      tone };
  });
}
