// Trades a trader can follow: round trips next to the fills, each one shown on the chart when selected, with
// its fills readable there and named in the legend.
import { ALICE, apiUrl, expect, openDemoRun, test } from "./fixtures";

test("round-trip trades: select one and the chart shows it, its fills drawn and named under the crosshair", async ({ page }) => {
  await openDemoRun(page);
  const root = page.getByTestId("run-charts");
  const trades = page.getByTestId("trades-table");
  await expect(trades.getByTestId("trade-row")).toHaveCount(25);
  const row = trades.getByTestId("trade-row").nth(4);
  await expect(row.locator("td").nth(1)).toHaveText(/^(long|short)$/);
  await expect(row.locator("td").nth(5)).toContainText("→");
  const entry = await row.locator("td").nth(2).innerText();
  const exit = await row.locator("td").nth(3).innerText();
  const epoch = (text: string) => Date.parse(`${text.replace(" ", "T")}:00Z`) / 1000;

  await trades.getByRole("button", { name: "Show trade 5 on the chart" }).click();
  // The chart now spans the trade (with room either side) and no more than a few days of it.
  await expect.poll(async () => Number(await root.getAttribute("data-visible-from"))).toBeLessThanOrEqual(epoch(entry));
  await expect.poll(async () => Number(await root.getAttribute("data-visible-to"))).toBeGreaterThanOrEqual(epoch(exit));
  const span = Number(await root.getAttribute("data-visible-to")) - Number(await root.getAttribute("data-visible-from"));
  expect(span).toBeLessThan(10 * 86_400);
  await expect(page.getByTestId("fills-hint")).toHaveCount(0);
  await expect(page.getByTestId("run-chart")).toBeInViewport();

  // Hovering the trade's bars names its fills in the legend, as a marker's tooltip would.
  const box = await page.getByTestId("run-chart").boundingBox();
  if (box === null) throw new Error("the chart has no box");
  const legend = page.getByTestId("chart-legend");
  let named = false;
  for (let x = 0.05; x < 0.95 && !named; x += 0.005) {
    await page.mouse.move(box.x + box.width * x, box.y + box.height * 0.3);
    named = await legend.locator('[data-legend="Fills"]').count() > 0;
  }
  expect(named, "some bar in view carries a fill").toBe(true);
  await expect(legend.locator('[data-legend="Fills"]')).toContainText(/(buy|sell) [\d.]+ @ [\d,]+\.\d{2}/);
});

test("each trade shows its MAE and MFE as the backend measured them on the run's bars", async ({ page }) => {
  const run = await openDemoRun(page);
  const body = await fetch(`${apiUrl()}/api/v1/backtests/${run.id}/trades`, { headers: { Authorization: `Bearer ${ALICE}` } })
    .then((r) => r.json() as Promise<{ count: number; trades: { entry_time: number; mae: number; mfe: number }[] }>);
  expect(body.count).toBeGreaterThan(25);
  const table = page.getByTestId("trades-table");
  await expect(page.getByText(`Trades · ${body.count.toLocaleString("en-US")} round trips`)).toBeVisible();
  const percent = (share: number) => `${(share * 100).toFixed(2)} %`;
  for (const index of [0, 7, 24]) {
    const trade = body.trades[index];
    if (!trade) throw new Error(`no trade ${index + 1}`);
    const row = table.getByTestId("trade-row").nth(index);
    await expect(row.locator("td").nth(2)).toHaveText(new Date(trade.entry_time * 1000).toISOString().slice(0, 16).replace("T", " "));
    await expect(row.getByTestId("trade-mae")).toContainText(percent(trade.mae));
    await expect(row.getByTestId("trade-mfe")).toContainText(percent(trade.mfe));
  }
  // Somewhere a trade stood against the trader before it closed, and somewhere for them.
  expect(body.trades.some((t) => t.mae < 0)).toBe(true);
  expect(body.trades.some((t) => t.mfe > 0)).toBe(true);
  await expect(table.getByRole("columnheader", { name: "MAE" })).toBeVisible();
});
