// A line of recent values, drawn as SVG: no axes, just the shape, scaled to its own range.
export function Sparkline({ values, label, className = "" }: {
  values: readonly (number | null | undefined)[];
  label: string;
  className?: string;
}) {
  const width = 120;
  const height = 28;
  const present = values.map((v) => (typeof v === "number" && Number.isFinite(v) ? v : null));
  const numbers = present.filter((v): v is number => v !== null);
  if (numbers.length < 2) {
    return <svg role="img" aria-label={`${label}: not enough samples yet`} width={width} height={height} className={className} />;
  }
  const low = Math.min(...numbers);
  const high = Math.max(...numbers);
  const span = high - low || 1;
  const step = width / Math.max(1, present.length - 1);
  const points = present
    .map((v, i) => (v === null ? null : `${(i * step).toFixed(1)},${(height - 2 - ((v - low) / span) * (height - 4)).toFixed(1)}`))
    .filter((p): p is string => p !== null)
    .join(" ");
  return (
    <svg role="img" aria-label={`${label}: ${numbers.length} samples`} data-points={numbers.length}
      width={width} height={height} viewBox={`0 0 ${width} ${height}`} className={className}>
      <polyline points={points} fill="none" stroke="currentColor" strokeWidth="1.5" strokeLinejoin="round" />
    </svg>
  );
}
