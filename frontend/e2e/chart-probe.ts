// Reads a chart the way a person reads the screen: where a bar is drawn and which points a series shows, from
// the lightweight-charts chart that the container carries (`hewstonChart`, see use-chart.ts), not from the DOM.
import type { Locator } from "@playwright/test";
import type { IChartApi } from "lightweight-charts";

type Host = HTMLElement & { hewstonChart?: IChartApi };

export interface DrawnBar {
  /** The bar's time (epoch seconds). */
  time: number;
  /** Where it is drawn, in page pixels (the middle of the candle, a third down the chart). */
  x: number;
  y: number;
}

/**
 * The candle `barsBack` bars before the newest one of the chart's candlestick series, with its position on the
 * page; null while the chart holds fewer candles or that candle is off screen.
 */
export async function drawnCandle(chart: Locator, barsBack: number): Promise<DrawnBar | null> {
  return chart.evaluate((element, back) => {
    const api = (element as Host).hewstonChart;
    const series = api?.panes()[0]?.getSeries().find((s) => s.seriesType() === "Candlestick");
    if (!api || !series) return null;
    const bar = series.data().at(-1 - back);
    if (!bar || typeof bar.time !== "number") return null;
    const x = api.timeScale().timeToCoordinate(bar.time);
    if (x === null || x < 0 || x > api.timeScale().width()) return null;
    const box = element.getBoundingClientRect();
    return { time: bar.time, x: box.left + api.priceScale("left").width() + x, y: box.top + box.height / 3 };
  }, barsBack);
}

/** How many points of the series titled `title` lie in the chart's visible time range (null: no such series). */
export async function pointsInView(chart: Locator, title: string): Promise<number | null> {
  return chart.evaluate((element, name) => {
    const api = (element as Host).hewstonChart;
    const range = api?.timeScale().getVisibleRange();
    const series = api?.panes().flatMap((pane) => pane.getSeries()).find((s) => s.options().title === name);
    if (!api || !range || !series) return null;
    const [from, to] = [Number(range.from), Number(range.to)];
    return series.data().filter((point) => Number(point.time) >= from && Number(point.time) <= to).length;
  }, title);
}

export interface SeriesEnd {
  time: number;
  value: number;
  count: number;
}

/**
 * The last point of every series, read in one go (so that they can be compared): line series by their title,
 * the candlestick series as "candles" (its close as value).
 */
export async function seriesEnds(chart: Locator): Promise<Record<string, SeriesEnd>> {
  return chart.evaluate((element) => {
    const api = (element as Host).hewstonChart;
    const out: Record<string, { time: number; value: number; count: number }> = {};
    for (const series of api?.panes().flatMap((pane) => pane.getSeries()) ?? []) {
      // The series' own points (dataByIndex counts the axis's indexes, where a line may start later).
      const data = series.data();
      const count = data.length;
      const point = data.at(-1) as { time: unknown; value?: number; close?: number } | undefined;
      if (!point || typeof point.time !== "number") continue;
      const name = series.seriesType() === "Candlestick" ? "candles" : series.options().title;
      out[name] = { time: point.time, value: Number(point.value ?? point.close), count };
    }
    return out;
  });
}
