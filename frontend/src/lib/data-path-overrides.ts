// A person's choice of data path per area, kept in this browser (localStorage) until reset.
// Server defaults come from the api; an override wins over them without a rebuild or a restart.
import type { DataArea, DataPath, DataPaths } from "@/api/types";

const OVERRIDES_KEY = "hewston.dataPaths";
export const DATA_AREAS: readonly DataArea[] = ["charts", "runs", "playback"];

export type Overrides = Partial<Record<DataArea, DataPath>>;

function isPath(value: unknown): value is DataPath {
  return value === "bff" || value === "direct";
}

export function parseOverrides(text: string | null): Overrides {
  if (!text) return {};
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed !== "object" || parsed === null) return {};
    const out: Overrides = {};
    for (const area of DATA_AREAS) {
      const value: unknown = (parsed as Record<string, unknown>)[area];
      if (isPath(value)) out[area] = value;
    }
    return out;
  } catch {
    return {};
  }
}

export function effectivePaths(defaults: DataPaths, overrides: Overrides): DataPaths {
  return {
    charts: overrides.charts ?? defaults.charts,
    runs: overrides.runs ?? defaults.runs,
    playback: overrides.playback ?? defaults.playback,
  };
}

export function loadOverrides(): Overrides {
  try {
    return parseOverrides(window.localStorage.getItem(OVERRIDES_KEY));
  } catch {
    return {};
  }
}

export function saveOverrides(overrides: Overrides): void {
  try {
    if (Object.keys(overrides).length === 0) window.localStorage.removeItem(OVERRIDES_KEY);
    else window.localStorage.setItem(OVERRIDES_KEY, JSON.stringify(overrides));
  } catch {
    // storage disabled: the choice lasts as long as the page
  }
}
