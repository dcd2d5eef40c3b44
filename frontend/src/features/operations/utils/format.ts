// How the page writes its numbers: milliseconds, rates and ratios, with a dash for "nothing measured".
const DASH = "–";

export function ms(value: number | null | undefined): string {
  if (value === null || value === undefined) return DASH;
  return value < 10 ? `${value.toFixed(2)} ms` : `${value.toFixed(0)} ms`;
}

export function perSecond(value: number | null | undefined): string {
  if (value === null || value === undefined) return DASH;
  return `${value < 10 ? value.toFixed(2) : value.toFixed(0)}/s`;
}

export function ratio(value: number | null | undefined): string {
  if (value === null || value === undefined) return DASH;
  return `${(value * 100).toFixed(1)} %`;
}

export function count(value: number | null | undefined): string {
  return value === null || value === undefined ? DASH : String(Math.round(value));
}

export function percent(value: number | null | undefined): string {
  return value === null || value === undefined ? DASH : `${value.toFixed(0)} %`;
}

export function megabytes(value: number | null | undefined): string {
  return value === null || value === undefined ? DASH : `${value.toFixed(0)} MB`;
}
