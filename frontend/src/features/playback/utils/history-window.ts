// Which candles the playback chart starts from after a reset: the last `bars` bars of the run up to the cursor,
// at the run's own resolution, so that the bars the stream appends continue them seamlessly.
import type { ChartTimeframe, RunDetail } from "@/api/types";

const TIMEFRAME: Record<RunDetail["timeframe"], { chart: ChartTimeframe; seconds: number }> = {
  minute: { chart: "1M", seconds: 60 },
  hour: { chart: "1H", seconds: 3_600 },
  day: { chart: "1D", seconds: 86_400 },
};

// Markets close at night and at weekends: a window of calendar time this many times the bars' width holds
// the wanted number of bars for any of the demo's sessions; extra bars are cut off after loading.
const SESSION_SLACK = 5;

export interface HistoryWindow {
  timeframe: ChartTimeframe;
  from: number;
  to: number;
  bars: number;
}

export function historyWindow(run: Pick<RunDetail, "timeframe" | "from_time">, cursorTime: number,
  bars: number): HistoryWindow {
  const { chart, seconds } = TIMEFRAME[run.timeframe];
  const from = Math.max(run.from_time, cursorTime - bars * seconds * SESSION_SLACK);
  return { timeframe: chart, from, to: cursorTime, bars };
}

/** The last `bars` entries of each column. */
export function lastColumns<T extends Record<string, number[]>>(columns: T, bars: number): T {
  const out: Record<string, number[]> = {};
  for (const [key, values] of Object.entries(columns)) out[key] = values.slice(Math.max(0, values.length - bars));
  return out as T;
}
