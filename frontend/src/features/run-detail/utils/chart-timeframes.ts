// The candle resolutions a run's price chart offers, and which one it opens with.
import type { ChartTimeframe, RunDetail } from "@/api/types";
import { formatInteger } from "@/lib/format";

export interface TimeframeOption {
  value: ChartTimeframe;
  label: string;
  disabled: boolean;
  title: string;
}

/**
 * Most candles drawn at once: aggregated minutes never exceed it, raw minutes are offered below it. It is the
 * api's default target, so a run page opens exactly the chart the prewarm worker keeps warm
 * (common/default_views.py).
 */
export const MAX_CANDLES = 10_000;
const MINUTE_S = 60;

export function timeframeOptions(run: Pick<RunDetail, "from_time" | "to_time">): TimeframeOption[] {
  const minutes = Math.floor((run.to_time - run.from_time) / MINUTE_S) + 1;
  const rawTooMany = minutes > MAX_CANDLES;
  return [
    { value: "1D", label: "1D", disabled: false, title: "Daily candles" },
    { value: "1H", label: "1H", disabled: false, title: "Hourly candles" },
    { value: "1M_DECIMATED", label: "Auto", disabled: false,
      title: `Minute bars aggregated to at most ${formatInteger(MAX_CANDLES)} candles` },
    { value: "1M", label: "1m", disabled: rawTooMany,
      title: rawTooMany ? "Too many minutes for one chart: use Auto" : "Every minute bar" },
  ];
}

export function defaultTimeframe(run: Pick<RunDetail, "timeframe">): ChartTimeframe {
  if (run.timeframe === "day") return "1D";
  if (run.timeframe === "hour") return "1H";
  return "1M_DECIMATED";
}
