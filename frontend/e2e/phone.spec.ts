// A phone (390×844): no page pans sideways, runs are cards, the playback's chart is on the first screen.
import type { Page } from "@playwright/test";
import { ALICE, expect, sharedDemoRun, signIn, test } from "./fixtures";

test.use({ viewport: { width: 390, height: 844 }, hasTouch: true, isMobile: true });

async function overflow(page: Page): Promise<number> {
  return page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
}

test("on a phone: runs as cards, the run page and the playback fit the width, the chart first", async ({ page }) => {
  const run = await sharedDemoRun();
  await signIn(page, ALICE);
  await expect(page.getByTestId("run-card").first()).toBeVisible();
  await expect(page.getByTestId("run-row").first()).toBeHidden();
  await expect(page.getByTestId("run-card").first()).toContainText("Return");
  expect(await overflow(page), "the runs page pans sideways").toBe(0);

  await page.goto(`/runs/${run.id}`);
  await expect(page.getByTestId("run-charts")).toHaveAttribute("data-drawn", "true");
  expect(await overflow(page), "the run page pans sideways").toBe(0);

  await page.goto(`/runs/${run.id}/playback`);
  await expect(page.getByTestId("connection-state")).toHaveText("Live");
  const chart = await page.getByTestId("playback-price-chart").boundingBox();
  expect(chart?.y ?? Infinity, "the chart starts on the first screen").toBeLessThan(400);
  expect(await overflow(page), "the playback pans sideways").toBe(0);
  await expect(page.getByText("-0.00")).toHaveCount(0);
});
