// The run's charts read as one: price, equity and drawdown on one time axis (checked from the chart's own
// visible range and from the crosshair at one x in every pane), kept through a timeframe switch, a resize and a
// reload, with a legend of the values at the hovered time.
import type { Page } from "@playwright/test";
import { pointsInView } from "./chart-probe";
import { ALICE, apiUrl, expect, openDemoRun, test } from "./fixtures";

interface Range {
  from: number;
  to: number;
}

async function visibleRange(page: Page): Promise<Range> {
  const root = page.getByTestId("run-charts");
  return { from: Number(await root.getAttribute("data-visible-from")), to: Number(await root.getAttribute("data-visible-to")) };
}

/** The legend's time with the pointer at `x` (a share of the chart's width) in the pane at height share `y`. */
async function legendTimeAt(page: Page, x: number, y: number): Promise<string> {
  await page.getByTestId("run-chart").scrollIntoViewIfNeeded();
  const box = await page.getByTestId("run-chart").boundingBox();
  if (box === null) throw new Error("the chart has no box");
  // Twice, a pixel apart: the crosshair reports a move, even right after the chart's data changed.
  await page.mouse.move(box.x + box.width * x - 1, box.y + box.height * y);
  await page.waitForTimeout(50);
  await page.mouse.move(box.x + box.width * x, box.y + box.height * y);
  return page.getByTestId("legend-time").innerText();
}

/**
 * The legend's time at one x in the price pane and in `pane` (equity 0.7, drawdown 0.95) once they agree, which
 * they must, and inside the visible range (not the last bar's, shown when nothing is hovered).
 */
async function sameTimeAcrossPanes(page: Page, x: number, pane: number): Promise<string> {
  let time = "";
  await expect.poll(async () => {
    const price = await legendTimeAt(page, x, 0.2);
    const other = await legendTimeAt(page, x, pane);
    time = price;
    return price === other;
  }).toBe(true);
  const { from, to } = await visibleRange(page);
  const epoch = Date.parse(`${time.length === 10 ? `${time}T00:00` : time.replace(" ", "T")}:00Z`) / 1000;
  expect(epoch).toBeGreaterThanOrEqual(from);
  expect(epoch).toBeLessThanOrEqual(to);
  return time;
}

test("one time axis for price, equity and drawdown, kept through a timeframe switch, a resize and a reload", async ({ page }) => {
  await openDemoRun(page);
  const root = page.getByTestId("run-charts");
  // The whole run from the keyboard (the chart opens on its latest candles, where its fills are readable).
  await page.getByTestId("run-chart").focus();
  await page.keyboard.press("0");
  await expect.poll(async () => (await visibleRange(page)).to - (await visibleRange(page)).from).toBeGreaterThan(300 * 86_400);
  const year = await visibleRange(page);

  // Zoom in with the wheel over the equity pane (the middle of the chart): every pane follows, by time.
  const box = await page.getByTestId("run-chart").boundingBox();
  if (box === null) throw new Error("the chart has no box");
  await page.mouse.move(box.x + box.width * 0.5, box.y + box.height * 0.7);
  for (let i = 0; i < 30; i += 1) await page.mouse.wheel(0, -400);
  await expect.poll(async () => (await visibleRange(page)).to - (await visibleRange(page)).from)
    .toBeLessThan((year.to - year.from) / 4);
  const zoomed = await visibleRange(page);

  // The same x in the price, equity and drawdown panes is the same time.
  expect(await sameTimeAcrossPanes(page, 0.5, 0.7)).toBe(await sameTimeAcrossPanes(page, 0.5, 0.95));

  // Daily candles keep the stretch in view (to within a day either side), in every pane.
  await page.getByText("1D", { exact: true }).click();
  await expect(page.getByTestId("candle-count")).toContainText(/^365 candles from/);
  const daily = await visibleRange(page);
  expect(Math.abs(daily.from - zoomed.from)).toBeLessThanOrEqual(86_400);
  expect(Math.abs(daily.to - zoomed.to)).toBeLessThanOrEqual(86_400);
  expect(daily.to - daily.from).toBeLessThan((year.to - year.from) / 3);
  await sameTimeAcrossPanes(page, 0.3, 0.7);

  // A narrower window and a reload of the data keep one axis: the panes are one chart.
  await page.setViewportSize({ width: 1000, height: 900 });
  await sameTimeAcrossPanes(page, 0.6, 0.95);
  await page.reload();
  await expect(root).toHaveAttribute("data-drawn", "true");
  await sameTimeAcrossPanes(page, 0.6, 0.7);
});

test("zoomed in, equity and drawdown show the visible stretch in finer detail (counted on the chart)", async ({ page }) => {
  // The stretch's requests wait until the coarse view has been counted.
  let release = () => {};
  const held = new Promise<void>((resolve) => { release = resolve; });
  const asked: URL[] = [];
  await page.route(/\/api\/v1\/backtests\/[^/]+\/equity\?/, async (route) => {
    asked.push(new URL(route.request().url()));
    await held;
    await route.continue().catch(() => undefined); // a request given up for a newer stretch is gone
  });
  await openDemoRun(page);
  const chart = page.getByTestId("run-chart");
  await chart.focus();
  await page.keyboard.press("0");
  await expect.poll(async () => (await visibleRange(page)).to - (await visibleRange(page)).from).toBeGreaterThan(300 * 86_400);
  const year = await visibleRange(page);
  const box = await chart.boundingBox();
  if (box === null) throw new Error("the chart has no box");
  await page.mouse.move(box.x + box.width * 0.5, box.y + box.height * 0.3);
  const width = async () => (await visibleRange(page)).to - (await visibleRange(page)).from;
  for (let i = 0; i < 80 && (await width()) > (year.to - year.from) / 8; i += 1) await page.mouse.wheel(0, -400);
  expect(await width()).toBeLessThanOrEqual((year.to - year.from) / 8);
  await page.waitForTimeout(500); // the wheel's last steps land
  const zoomed = await visibleRange(page);
  // Asked for once the view rests: a stretch around the visible one, at the page's number of points.
  await expect.poll(() => asked.filter((url) => Number(url.searchParams.get("from")) <= zoomed.from
    && Number(url.searchParams.get("to")) >= zoomed.to).length).toBeGreaterThan(0);
  expect(asked.at(-1)?.searchParams.get("max_points")).toBe("2000");
  const coarse = { equity: await pointsInView(chart, "Equity"), drawdown: await pointsInView(chart, "Drawdown") };
  expect(coarse.equity).toBeGreaterThan(0);

  release();
  await expect.poll(() => pointsInView(chart, "Equity")).toBeGreaterThan(2 * (coarse.equity ?? 0));
  expect(await pointsInView(chart, "Drawdown")).toBeGreaterThan(2 * (coarse.drawdown ?? 0));
  // The view stayed where it was zoomed to.
  expect(await visibleRange(page)).toEqual(zoomed);
});

test("the crosshair legend shows OHLC, volume, equity, drawdown and position at the hovered time", async ({ page }) => {
  await openDemoRun(page);
  const legend = page.getByTestId("chart-legend");
  // Away from the chart, the last bar's values.
  await expect(legend.locator('[data-legend="C"]')).toContainText(/\d{1,3}(,\d{3})*\.\d{2}/);
  const early = await legendTimeAt(page, 0.2, 0.5);
  const late = await legendTimeAt(page, 0.8, 0.5);
  expect(early < late, `${early} before ${late}`).toBe(true);
  for (const label of ["O", "H", "L", "C", "Vol", "Equity", "Drawdown", "Position"]) {
    await expect(legend.locator(`[data-legend="${label}"]`)).not.toContainText("—");
  }
  await expect(legend.locator('[data-legend="Drawdown"]')).toContainText("%");
});

test("the equity pane: buy and hold (a toggle), drawdown periods shaded, the longest drawdown and the peak", async ({ page }) => {
  await openDemoRun(page);
  const root = page.getByTestId("run-charts");
  // The demo's BTCUSD run fell for most of the year: its longest drawdown lasts months, and is shaded.
  expect(Number(await root.getAttribute("data-longest-drawdown"))).toBeGreaterThan(30 * 86_400);
  expect(Number(await root.getAttribute("data-shaded-candles"))).toBeGreaterThan(0);
  await expect(page.getByTestId("metric-max_drawdown_duration_s")).toContainText(" d ");
  const legend = page.getByTestId("chart-legend");
  await expect(legend.locator('[data-legend="Buy and hold"]')).toContainText(/\d{1,3}(,\d{3})*\.\d{2}/);
  await page.getByLabel("Buy and hold").uncheck();
  await expect(legend.locator('[data-legend="Buy and hold"]')).toHaveCount(0);
  await page.getByLabel("Buy and hold").check();
  await expect(legend.locator('[data-legend="Buy and hold"]')).toHaveCount(1);
});

test("the strategy's own lines: its moving averages over the price, an RSI in a pane of its own", async ({ page }) => {
  await openDemoRun(page); // BTCUSD, moving-average crossover (fast 30, slow 240)
  const legend = page.getByTestId("chart-legend");
  await expect(legend.locator('[data-legend="SMA 30"]')).toContainText(/\d{1,3}(,\d{3})*\.\d{2}/);
  await expect(legend.locator('[data-legend="SMA 240"]')).toContainText(/\d{1,3}(,\d{3})*\.\d{2}/);
  const price = await legendValue(page, "C");
  // A moving average of the closes sits near them.
  expect(Math.abs((await legendValue(page, "SMA 30")) / price - 1)).toBeLessThan(0.05);

  // The demo's ACME RSI run: the oscillator in its own pane, below the drawdown, with its levels.
  const runs = await fetch(`${apiUrl()}/api/v1/backtests?limit=200`, { headers: { Authorization: `Bearer ${ALICE}` } })
    .then((r) => r.json() as Promise<{ items: { id: string; strategy: string }[] }>);
  const rsiRun = runs.items.find((r) => r.strategy === "rsi_mean_reversion");
  if (!rsiRun) throw new Error("the demo data has no RSI run");
  await page.goto(`/runs/${rsiRun.id}`);
  await expect(page.getByTestId("run-charts")).toHaveAttribute("data-drawn", "true");
  await expect(legend.locator('[data-legend="RSI 14"]')).toBeVisible();
  const rsi = await legendValue(page, "RSI 14");
  expect(rsi).toBeGreaterThanOrEqual(0);
  expect(rsi).toBeLessThanOrEqual(100);
  // Hovering the bottom pane (the RSI's) gives the same time as the price pane above it.
  await sameTimeAcrossPanes(page, 0.5, 0.91);
});

async function legendValue(page: Page, label: string): Promise<number> {
  const text = await page.getByTestId("chart-legend").locator(`[data-legend="${label}"]`).innerText();
  return Number(text.slice(label.length).replace(/[^\d.-]/g, ""));
}
