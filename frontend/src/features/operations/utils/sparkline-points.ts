// Where a sparkline's values sit in its box: scaled to their own range, gaps (no sample) left out.

/** The SVG polyline points of `values` in a `width` × `height` box, or null with fewer than two samples. */
export function sparklinePoints(values: readonly (number | null | undefined)[], width: number,
  height: number): string | null {
  const present = values.map((v) => (typeof v === "number" && Number.isFinite(v) ? v : null));
  const numbers = present.filter((v): v is number => v !== null);
  if (numbers.length < 2) return null;
  const low = Math.min(...numbers);
  const span = Math.max(...numbers) - low || 1;
  const step = width / Math.max(1, present.length - 1);
  // One pixel of margin top and bottom, so the stroke is never clipped.
  return present
    .map((v, i) => (v === null ? null : `${(i * step).toFixed(1)},${(height - 1 - ((v - low) / span) * (height - 2)).toFixed(1)}`))
    .filter((p): p is string => p !== null)
    .join(" ");
}

export function sampleCount(values: readonly (number | null | undefined)[]): number {
  return values.filter((v) => typeof v === "number" && Number.isFinite(v)).length;
}
