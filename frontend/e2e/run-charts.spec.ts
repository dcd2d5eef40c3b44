// The run's charts read as one: price, equity and drawdown on one time axis (checked from the chart's own
// visible range and from the crosshair at one x in every pane), kept through a timeframe switch, a resize and a
// reload, with a legend of the values at the hovered time.
import type { Page } from "@playwright/test";
import { ALICE, expect, sharedDemoRun, signIn, test } from "./fixtures";

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
  const box = await page.getByTestId("run-chart").boundingBox();
  if (box === null) throw new Error("the chart has no box");
  await page.mouse.move(box.x + box.width * x, box.y + box.height * y);
  return page.getByTestId("legend-time").innerText();
}

test("one time axis for price, equity and drawdown, kept through a timeframe switch, a resize and a reload", async ({ page }) => {
  const run = await sharedDemoRun();
  await signIn(page, ALICE);
  await page.goto(`/runs/${run.id}`);
  const root = page.getByTestId("run-charts");
  await expect(root).toHaveAttribute("data-drawn", "true");
  const year = await visibleRange(page);

  // Zoom in with the wheel over the equity pane (the middle of the chart): every pane follows, by time.
  const box = await page.getByTestId("run-chart").boundingBox();
  if (box === null) throw new Error("the chart has no box");
  await page.mouse.move(box.x + box.width * 0.5, box.y + box.height * 0.7);
  for (let i = 0; i < 12; i += 1) await page.mouse.wheel(0, -400);
  await expect.poll(async () => (await visibleRange(page)).to - (await visibleRange(page)).from)
    .toBeLessThan((year.to - year.from) / 4);
  const zoomed = await visibleRange(page);

  // The same x in the price, equity and drawdown panes is the same time.
  const inPrice = await legendTimeAt(page, 0.5, 0.2);
  expect(await legendTimeAt(page, 0.5, 0.7)).toBe(inPrice);
  expect(await legendTimeAt(page, 0.5, 0.95)).toBe(inPrice);

  // Daily candles keep the stretch in view (to within a day either side), in every pane.
  await page.getByText("1D", { exact: true }).click();
  await expect(page.getByTestId("candle-count")).toContainText(/^365 candles from/);
  const daily = await visibleRange(page);
  expect(Math.abs(daily.from - zoomed.from)).toBeLessThanOrEqual(86_400);
  expect(Math.abs(daily.to - zoomed.to)).toBeLessThanOrEqual(86_400);
  expect(daily.to - daily.from).toBeLessThan((year.to - year.from) / 3);
  expect(await legendTimeAt(page, 0.3, 0.7)).toBe(await legendTimeAt(page, 0.3, 0.2));

  // A narrower window and a reload of the data keep one axis: the panes are one chart.
  await page.setViewportSize({ width: 1000, height: 900 });
  expect(await legendTimeAt(page, 0.6, 0.95)).toBe(await legendTimeAt(page, 0.6, 0.2));
  await page.reload();
  await expect(root).toHaveAttribute("data-drawn", "true");
  expect(await legendTimeAt(page, 0.6, 0.7)).toBe(await legendTimeAt(page, 0.6, 0.2));
});

test("the crosshair legend shows OHLC, volume, equity, drawdown and position at the hovered time", async ({ page }) => {
  const run = await sharedDemoRun();
  await signIn(page, ALICE);
  await page.goto(`/runs/${run.id}`);
  await expect(page.getByTestId("run-charts")).toHaveAttribute("data-drawn", "true");
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
