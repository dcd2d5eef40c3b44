// Zoom and pan a chart from the keyboard, as the mouse wheel and drag do: + and − zoom around the middle,
// ← and → pan by a tenth of what is in view, 0 shows everything. The chart's element takes the focus (Tab:
// `CHART_FOCUS` on it) and says so in its label; keys pressed there are the chart's, not the page's.
import type { IChartApi } from "lightweight-charts";
import { useEffect, type RefObject } from "react";

/** Props for the chart's element: reachable with Tab, and marked so that page-wide keys leave it alone. */
export const CHART_FOCUS = { tabIndex: 0, "data-chart-keys": "true" } as const;

export const CHART_KEYS_HINT = "Focus the chart for the keyboard: + and − zoom, ← and → pan, 0 shows everything.";

/** What a key does to the visible range of bars (`from`/`to` in bar indexes); null for keys it leaves alone. */
export function rangeAfterKey(key: string, range: { from: number; to: number }): { from: number; to: number } | "fit" | null {
  const width = range.to - range.from;
  const middle = (range.from + range.to) / 2;
  switch (key) {
    case "+":
    case "=":
      return { from: middle - width / 3, to: middle + width / 3 };
    case "-":
    case "_":
      return { from: middle - width * 0.75, to: middle + width * 0.75 };
    case "ArrowLeft":
      return { from: range.from - width / 10, to: range.to - width / 10 };
    case "ArrowRight":
      return { from: range.from + width / 10, to: range.to + width / 10 };
    case "0":
      return "fit";
    default:
      return null;
  }
}

export function useChartKeyboard(element: RefObject<HTMLElement | null>, chart: RefObject<IChartApi | null>): void {
  useEffect(() => {
    const target = element.current;
    if (target === null) return undefined;
    const onKey = (event: KeyboardEvent) => {
      const api = chart.current;
      const range = api?.timeScale().getVisibleLogicalRange();
      if (!api || !range || event.ctrlKey || event.metaKey || event.altKey) return;
      const next = rangeAfterKey(event.key, range);
      if (next === null) return;
      event.preventDefault();
      event.stopPropagation();
      if (next === "fit") api.timeScale().fitContent();
      else api.timeScale().setVisibleLogicalRange(next);
    };
    target.addEventListener("keydown", onKey);
    return () => target.removeEventListener("keydown", onKey);
  }, [element, chart]);
}
