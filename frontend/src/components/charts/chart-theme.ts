// One look for every chart of the app (dark, UTC time axis, the same price-scale width so that stacked
// charts line their time axes up exactly).
import { ColorType, CrosshairMode, type ChartOptions, type DeepPartial, type PriceFormatCustom } from "lightweight-charts";
import { formatMoney } from "@/lib/format";

export const COLORS = {
  up: "#22c55e",
  down: "#ef4444",
  equity: "#38bdf8",
  drawdown: "#f97316",
  benchmark: "#cbd5e1",
  buy: "#22c55e",
  sell: "#f43f5e",
  grid: "rgba(148, 163, 184, 0.08)",
  text: "#94a3b8",
} as const;

export const PRICE_SCALE_WIDTH = 80;

/** Prices and money on the axes and labels as people read them: "80,000.00", not "80000.00". */
export const MONEY_FORMAT: PriceFormatCustom = { type: "custom", formatter: (price: number) => formatMoney(price), minMove: 0.01 };

/** The app's chart options with `overrides` on top; a nested group (timeScale, layout…) is merged, not replaced. */
export function chartOptions(overrides: DeepPartial<ChartOptions> = {}): DeepPartial<ChartOptions> {
  const base = baseOptions();
  const merged: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(overrides)) {
    const current = merged[key];
    merged[key] = isGroup(current) && isGroup(value) ? { ...current, ...value } : value;
  }
  return merged as DeepPartial<ChartOptions>;
}

function isGroup(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function baseOptions(): DeepPartial<ChartOptions> {
  return {
    autoSize: true,
    layout: { background: { type: ColorType.Solid, color: "transparent" }, textColor: COLORS.text, fontSize: 11,
      attributionLogo: false },
    grid: { vertLines: { color: COLORS.grid }, horzLines: { color: COLORS.grid } },
    crosshair: { mode: CrosshairMode.Normal },
    rightPriceScale: { borderVisible: false, minimumWidth: PRICE_SCALE_WIDTH },
    // A year of candles must fit a laptop screen: let bars get thinner than a pixel.
    timeScale: { borderVisible: false, timeVisible: true, secondsVisible: false, minBarSpacing: 0.05 },
    localization: { locale: "en-US" },
  };
}
