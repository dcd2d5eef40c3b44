// Numbers, money, dates and durations as the app shows them. Times are UTC: bars are stored in UTC.

const integer = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });
const compact = new Intl.NumberFormat("en-US", { maximumFractionDigits: 2 });
const money = new Intl.NumberFormat("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 });

export const DASH = "—";

export function formatInteger(value: number | null | undefined): string {
  return value === null || value === undefined || !Number.isFinite(value) ? DASH : integer.format(value);
}

export function formatNumber(value: number | null | undefined, digits = 2): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return DASH;
  if (digits === 2) return compact.format(value);
  return new Intl.NumberFormat("en-US", { maximumFractionDigits: digits }).format(value);
}

export function formatMoney(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return DASH;
  // A value that rounds to zero is zero, not "-0.00".
  return money.format(Math.abs(value) < 0.005 ? 0 : value);
}

/** A fraction as a percentage: 0.0523 → "5.23 %". */
export function formatPercent(value: number | null | undefined, digits = 2): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return DASH;
  return `${(value * 100).toFixed(digits)} %`;
}

function pad(n: number): string {
  return String(n).padStart(2, "0");
}

/** Epoch seconds as `2025-03-01 14:30` (UTC); dates alone when `dateOnly`. */
export function formatTime(epochS: number | null | undefined, dateOnly = false): string {
  if (epochS === null || epochS === undefined || !Number.isFinite(epochS)) return DASH;
  const d = new Date(epochS * 1000);
  const date = `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
  return dateOnly ? date : `${date} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}`;
}

/** Seconds as the two largest units: "3 d 4 h", "5 h 12 min", "42 s". */
export function formatDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return DASH;
  const units: [string, number][] = [["d", 86400], ["h", 3600], ["min", 60], ["s", 1]];
  const parts: string[] = [];
  let rest = Math.round(seconds);
  for (const [name, size] of units) {
    const n = Math.floor(rest / size);
    if (n > 0 || (parts.length === 0 && size === 1)) parts.push(`${n} ${name}`);
    rest -= n * size;
    if (parts.length === 2) break;
  }
  return parts.join(" ");
}

/** `YYYY-MM-DD` (UTC) of epoch seconds, for date inputs. */
export function toDateInput(epochS: number): string {
  return formatTime(epochS, true);
}

/** Epoch seconds of a `YYYY-MM-DD` date input (UTC midnight); null when it is not a date. */
export function fromDateInput(value: string): number | null {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(value)) return null;
  const ms = Date.parse(`${value}T00:00:00Z`);
  return Number.isNaN(ms) ? null : ms / 1000;
}
