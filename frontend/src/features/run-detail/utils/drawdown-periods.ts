// Drawdown periods of an equity curve: from a peak until the equity is back at it (or the run ends), with how
// deep each went; the one that lasted longest, and the curve's highest point, for marking on the chart.

export interface DrawdownPeriod {
  /** The peak's time, the time equity first got back to it (null: never, by the run's end), the deepest fall. */
  start: number;
  end: number | null;
  /** The deepest drawdown in the period, as a negative fraction (−0.25 is 25 % below the peak). */
  depth: number;
  /** Seconds from the peak to the recovery, or to the curve's last point when it never recovered. */
  duration: number;
}

/** Periods whose drawdown went at least `minDepth` deep (a fraction, 0.05 for 5 %), in time order. */
export function drawdownPeriods(time: readonly number[], equity: readonly number[], minDepth: number): DrawdownPeriod[] {
  const periods: DrawdownPeriod[] = [];
  let peak = Number.NEGATIVE_INFINITY;
  let peakTime = time[0] ?? 0;
  let depth = 0;
  const close = (end: number | null, last: number) => {
    if (-depth >= minDepth) periods.push({ start: peakTime, end, depth, duration: (end ?? last) - peakTime });
  };
  for (let i = 0; i < time.length; i += 1) {
    const t = time[i] ?? 0;
    const value = equity[i] ?? 0;
    if (value >= peak) {
      if (depth < 0) close(t, t);
      peak = value;
      peakTime = t;
      depth = 0;
    } else if (peak > 0) {
      depth = Math.min(depth, value / peak - 1);
    }
  }
  if (depth < 0) close(null, time.at(-1) ?? peakTime);
  return periods;
}

/** The longest of the periods (the first of equals), or null when there are none. */
export function longestPeriod(periods: readonly DrawdownPeriod[]): DrawdownPeriod | null {
  return periods.reduce<DrawdownPeriod | null>((best, p) => (best === null || p.duration > best.duration ? p : best), null);
}

/** The time of the curve's highest point (the first, if reached twice). */
export function peakTime(time: readonly number[], equity: readonly number[]): number | null {
  let best = -1;
  for (let i = 0; i < equity.length; i += 1) if (best < 0 || (equity[i] ?? 0) > (equity[best] ?? 0)) best = i;
  return best < 0 ? null : (time[best] ?? null);
}
