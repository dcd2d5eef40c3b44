import { ALICE, BOB, apiUrl, expect, sharedDemoRun, signIn, test } from "./fixtures";
import { screenshot } from "./screenshots";

test("a run's detail: metric cards, candles with fills, synced equity and drawdown, sortable orders", async ({ page }, testInfo) => {
  const run = await sharedDemoRun();
  await signIn(page, ALICE);
  const complete = page.waitForResponse((r) => r.url().includes(`/api/v1/runs/${run.id}/complete`));
  await page.getByRole("link", { name: /BTCUSD · minute/ }).click();
  expect((await complete).status()).toBe(200);

  await expect(page.getByRole("heading", { name: /BTCUSD · ma_crossover/ })).toBeVisible();
  await expect(page.getByTestId("metric-sharpe")).toContainText("annualised × √525,960");
  await expect(page.getByTestId("metric-total_return")).toContainText("%");
  await expect(page.getByTestId("run-charts")).toHaveAttribute("data-drawn", "true");
  await expect(page.getByTestId("candle-count")).toContainText("from 525,600 bars");
  await expect(page.getByTestId("run-chart").locator("canvas").first()).toBeVisible();
  // Thousands of fills: the chart opens on the latest candles, where they are readable, and says how to see
  // them once zoomed out to the whole run (0 on the focused chart).
  await expect(page.getByTestId("fills-hint")).toHaveCount(0);
  // Metrics, the chart with the crosshair's legend, and the first trades in one picture.
  await page.setViewportSize({ width: 1440, height: 1800 });
  await page.getByTestId("run-chart").hover({ position: { x: 900, y: 300 } });
  await expect(page.getByTestId("legend-time")).toBeVisible();
  await screenshot(page, "run-detail", testInfo);
  await page.setViewportSize({ width: 1440, height: 900 });
  await page.getByTestId("run-chart").focus();
  await page.keyboard.press("0");
  await expect(page.getByTestId("fills-hint")).toBeVisible();
  await page.getByTestId("run-chart").hover({ position: { x: 600, y: 100 } });
  for (let i = 0; i < 40 && await page.getByTestId("fills-hint").isVisible(); i += 1) await page.mouse.wheel(0, -600);
  await expect(page.getByTestId("fills-hint")).toHaveCount(0);

  // Another resolution: daily candles of the same year.
  await page.getByText("1D", { exact: true }).click();
  await expect(page.getByTestId("candle-count")).toContainText(/^365 candles from/);

  const table = page.getByTestId("orders-table");
  await expect(page.getByText("7,449 fills")).toBeVisible();
  await expect(table.locator("tbody tr")).toHaveCount(50);
  await table.getByRole("button", { name: /Realised PnL/ }).click();
  await table.getByRole("button", { name: /Realised PnL/ }).click();
  await expect(table.getByRole("columnheader", { name: /Realised PnL/ })).toHaveAttribute("aria-sort", "descending");
  const firstPnl = await table.locator("tbody tr").first().locator("td").nth(5).innerText();
  expect(Number(firstPnl.replace(/,/g, ""))).toBeGreaterThan(5_000);
  await expect(table.locator("tbody tr").first().locator("td").nth(6)).toContainText("signal");
});

test("keyboard: the timeframe switcher and the table sort are reachable and labelled", async ({ page }) => {
  const run = await sharedDemoRun();
  await signIn(page, ALICE);
  await page.goto(`/runs/${run.id}`);
  await expect(page.getByTestId("run-charts")).toHaveAttribute("data-drawn", "true");
  const group = page.getByRole("group", { name: "Candle timeframe" });
  await group.getByRole("radio", { name: "1H" }).focus();
  await page.keyboard.press("Space");
  await expect(group.getByRole("radio", { name: "1H" })).toBeChecked();
  await expect(page.getByTestId("candle-count")).toContainText(/^8,7\d\d candles/);
  const table = page.getByTestId("orders-table");
  await table.getByRole("button", { name: /Side/ }).focus();
  await page.keyboard.press("Enter");
  await expect(table.getByRole("columnheader", { name: /Side/ })).toHaveAttribute("aria-sort", "ascending");
  await expect(table.locator("tbody tr").first().locator("td").nth(1)).toHaveText("buy");
});

test("the run page says how many watch its replay, from every node's count", async ({ page, browser }) => {
  const run = await sharedDemoRun();
  await signIn(page, ALICE);
  await page.goto(`/runs/${run.id}`);
  const watching = page.getByTestId("run-viewers");
  // Viewers of earlier tests are withdrawn within a demand refresh; the page asks every 5 s.
  await expect(watching).toHaveText("Nobody is watching the replay", { timeout: 20_000 });
  // Bob watches in a browser of his own; the run page has no stream, yet its count follows his.
  const bobContext = await browser.newContext({ baseURL: apiUrl() });
  const bob = await bobContext.newPage();
  try {
    await signIn(bob, BOB);
    await bob.goto(`/runs/${run.id}/playback`);
    await expect(bob.getByTestId("connection-state")).toHaveText("Live");
    await expect(watching).toHaveText("1 watching the replay", { timeout: 20_000 });
  } finally {
    await bobContext.close();
  }
  await expect(watching).toHaveText("Nobody is watching the replay", { timeout: 20_000 });
});
