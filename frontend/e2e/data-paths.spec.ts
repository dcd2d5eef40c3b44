import type { Page } from "@playwright/test";
import { ALICE, backendUrl, expect, sharedDemoRun, signIn, test } from "./fixtures";

/** What the run page shows that both paths must agree on. */
async function shownNumbers(page: Page) {
  await expect(page.getByTestId("run-charts")).toHaveAttribute("data-drawn", "true");
  return {
    sharpe: await page.getByTestId("metric-sharpe").innerText(),
    totalReturn: await page.getByTestId("metric-total_return").innerText(),
    candles: await page.getByTestId("candle-count").innerText(),
    fills: await page.getByText(/fills$/).first().innerText(),
  };
}

function requestsTo(page: Page): string[] {
  const urls: string[] = [];
  page.on("request", (request) => urls.push(request.url()));
  return urls;
}

test("switching runs and charts to the direct backend path shows the same run, without a reload", async ({ page }) => {
  const run = await sharedDemoRun();
  await signIn(page, ALICE);
  const urls = requestsTo(page);
  await page.goto(`/runs/${run.id}`);
  const viaApi = await shownNumbers(page);
  expect(urls.some((u) => u.includes(`/api/v1/runs/${run.id}/complete`))).toBe(true);
  expect(urls.some((u) => u.includes("/api/v1/chart-data"))).toBe(true);

  urls.length = 0;
  await page.getByRole("button", { name: "Settings" }).click();
  const dialog = page.getByRole("dialog", { name: "Data paths" });
  await expect(dialog).toContainText("Server default: API");
  await dialog.getByRole("group", { name: "Runs data path" }).getByText("Direct backend").click();
  await dialog.getByRole("group", { name: "Charts data path" }).getByText("Direct backend").click();
  await dialog.getByRole("button", { name: "Done" }).click();
  await expect(page.getByTestId("direct-paths")).toContainText("charts, runs");

  // The page refetched through the backend itself: its own routes, from the browser, with the same answers.
  await expect(page.getByTestId("load-info")).toContainText("direct from the backend");
  const direct = await shownNumbers(page);
  expect(direct).toEqual(viaApi);
  const backend = backendUrl();
  expect(urls.some((u) => u.startsWith(`${backend}/backtests/${run.id}/metrics`))).toBe(true);
  expect(urls.some((u) => u.startsWith(`${backend}/bars/minute`) && u.includes("bucket_minutes="))).toBe(true);
  expect(urls.filter((u) => u.includes("/api/v1/runs/") || u.includes("/api/v1/chart-data"))).toEqual([]);

  // The choice stays in this browser until reset to the server's defaults.
  await page.reload();
  await expect(page.getByTestId("direct-paths")).toBeVisible();
  await page.getByRole("button", { name: "Settings" }).click();
  await dialog.getByRole("button", { name: "Reset to server defaults" }).click();
  await dialog.getByRole("button", { name: "Done" }).click();
  await expect(page.getByTestId("direct-paths")).toHaveCount(0);
  await expect(page.getByTestId("load-info")).toContainText("through the api");
});
