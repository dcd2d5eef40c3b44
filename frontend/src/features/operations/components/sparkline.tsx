// A line of recent values, drawn as SVG: no axes, just the shape, scaled to its own range.
import { sampleCount, sparklinePoints } from "../utils/sparkline-points";

const WIDTH = 120;
const HEIGHT = 28;

export function Sparkline({ values, label, className = "" }: {
  values: readonly (number | null | undefined)[];
  label: string;
  className?: string;
}) {
  const points = sparklinePoints(values, WIDTH, HEIGHT);
  const samples = sampleCount(values);
  if (points === null) {
    return <svg role="img" aria-label={`${label}: not enough samples yet`} width={WIDTH} height={HEIGHT} className={className} />;
  }
  return (
    <svg role="img" aria-label={`${label}: ${samples} samples`} data-points={samples}
      width={WIDTH} height={HEIGHT} viewBox={`0 0 ${WIDTH} ${HEIGHT}`} className={className}>
      <polyline points={points} fill="none" stroke="currentColor" strokeWidth="1.5" strokeLinejoin="round" />
    </svg>
  );
}
