// More equity detail where the chart is zoomed in. The run page loads the whole curve decimated to a few thousand
// points; zoomed into a part of the run, those are a few hundred on screen. The backend decimates any stretch of
// the run on its own (`from`/`to`), so the visible stretch is asked for at the same number of points and laid
// over the whole curve: finer on screen, unchanged outside it.
import type { EquityCurve } from "@/api/types";
import { indexAtOrBefore } from "@/components/charts/series-data";

export interface TimeSpan {
  from: number;
  to: number;
}

/** Below this share of the run on screen, the visible stretch is worth its own request. */
export const DETAIL_BELOW_SHARE = 0.8;
/** Bounds are widened to whole steps of this many seconds, so small pans reuse one request (and its cache). */
const ROUND_TO_S = 3_600;

/**
 * The stretch to ask more detail for, or null when the chart shows (almost) the whole run. Widened by half the
 * visible width either side, rounded outwards, and kept inside the run: a small pan still finds detail there.
 */
export function detailSpan(run: TimeSpan, visible: TimeSpan | null): TimeSpan | null {
  if (visible === null) return null;
  const width = visible.to - visible.from;
  if (width <= 0 || width >= (run.to - run.from) * DETAIL_BELOW_SHARE) return null;
  const from = Math.max(run.from, Math.floor((visible.from - width / 2) / ROUND_TO_S) * ROUND_TO_S);
  const to = Math.min(run.to, Math.ceil((visible.to + width / 2) / ROUND_TO_S) * ROUND_TO_S);
  return from < to ? { from, to } : null;
}

/** The whole curve with `detail` (the curve of `span` alone) in place of its own points inside `span`. */
export function withDetail(whole: EquityCurve, detail: EquityCurve | undefined, span: TimeSpan | null): EquityCurve {
  if (!detail || span === null || detail.count === 0) return whole;
  const before = indexAtOrBefore(whole.time, span.from - 1) + 1; // points before the span
  const after = indexAtOrBefore(whole.time, span.to) + 1; // first point after it
  const pick = (key: "time" | "equity" | "drawdown") =>
    [...whole[key].slice(0, before), ...detail[key], ...whole[key].slice(after)];
  const time = pick("time");
  return { ...whole, count: time.length, time, equity: pick("equity"), drawdown: pick("drawdown") };
}
