// The bucket width of aggregated minute candles, chosen the way the api chooses it (api/decimation.py), for
// the direct path, which asks the backend for aggregated bars without the api in between.
const MINUTE_S = 60;

function bucketsSpanned(firstMin: number, lastMin: number, width: number): number {
  return Math.floor(lastMin / width) - Math.floor(firstMin / width) + 1;
}

/** Whole minutes per bucket so that the epoch-aligned buckets covering [firstS, lastS] are <= targetPoints. */
export function bucketWidthMinutes(firstS: number, lastS: number, targetPoints: number): number {
  const firstMin = Math.floor(firstS / MINUTE_S);
  const lastMin = Math.floor(lastS / MINUTE_S);
  const span = lastMin - firstMin + 1;
  let width = Math.max(1, Math.ceil(span / targetPoints));
  for (let step = 0; step < 8; step += 1) {
    if (bucketsSpanned(firstMin, lastMin, width) <= targetPoints) return width;
    width += 1;
  }
  return Math.max(width, Math.ceil(span / (targetPoints - 1)));
}
