// The strategy's own lines as series of a chart: moving averages and bands over the candles (pane 0), an
// oscillator in a pane of its own with its reference levels. The run page and the playback chart draw them alike.
import { LineSeries, LineStyle, type IChartApi, type ISeriesApi, type Time } from "lightweight-charts";
import { MONEY_FORMAT } from "./chart-theme";

const LINE_COLORS = ["#facc15", "#c084fc", "#2dd4bf", "#fb7185"] as const;
/** The oscillator pane's share of the chart's height. */
const OWN_PANE_STRETCH = 0.16;

export interface IndicatorLineInfo {
  label: string;
  pane: "price" | "own";
}

export interface IndicatorSeries extends IndicatorLineInfo {
  color: string;
  series: ISeriesApi<"Line", Time>;
}

export function indicatorColor(index: number): string {
  return LINE_COLORS[index % LINE_COLORS.length] ?? LINE_COLORS[0];
}

/** One line series per line (empty), the oscillator's in pane `ownPane` with the `levels` drawn across it. */
export function addIndicatorSeries(chart: IChartApi, lines: readonly IndicatorLineInfo[], levels: readonly number[],
  ownPane: number): IndicatorSeries[] {
  const created = lines.map((line, i) => ({
    label: line.label, pane: line.pane, color: indicatorColor(i),
    series: chart.addSeries(LineSeries, {
      color: indicatorColor(i), lineWidth: 1, priceLineVisible: false, lastValueVisible: false,
      crosshairMarkerVisible: false, title: line.label, ...(line.pane === "price" ? { priceFormat: MONEY_FORMAT } : {}),
    }, line.pane === "price" ? 0 : ownPane),
  }));
  const own = created.find((line) => line.pane === "own");
  for (const level of levels) {
    own?.series.createPriceLine({ price: level, color: "#64748b", lineStyle: LineStyle.Dashed, lineWidth: 1,
      axisLabelVisible: true, title: "" });
  }
  if (own) chart.panes()[ownPane]?.setStretchFactor(OWN_PANE_STRETCH);
  return created;
}

export function removeIndicatorSeries(chart: IChartApi, lines: readonly IndicatorSeries[]): void {
  try {
    for (const line of lines) chart.removeSeries(line.series);
  } catch {
    // the chart was removed first (the component is going away): its series went with it
  }
}
