import type { Page } from "@playwright/test";
import { ALICE, expect, sharedDemoRun, signIn, test } from "./fixtures";

async function framesApplied(page: Page): Promise<number> {
  return Number(await page.getByTestId("live-chart").getAttribute("data-frames-applied") ?? "0");
}

async function cursorOf(page: Page): Promise<number> {
  const text = await page.getByTestId("cursor").innerText();
  return Number(text.split("/")[0]?.replace(/[^\d]/g, "") ?? "0") - 1;
}

test("a private playback straight from the backend: play, pause, step and seek by date", async ({ page }) => {
  const run = await sharedDemoRun();
  await page.addInitScript(() => localStorage.setItem("hewston.dataPaths", JSON.stringify({ playback: "direct" })));
  await signIn(page, ALICE);
  await page.goto(`/runs/${run.id}/playback`);
  await expect(page.getByTestId("connection-state")).toHaveText("Live");
  await expect(page.getByText("private playback, direct from the backend")).toBeVisible();

  await page.getByLabel("Speed").selectOption("300");
  await page.getByRole("button", { name: "Play" }).click();
  await expect.poll(() => framesApplied(page)).toBeGreaterThan(20);
  await expect.poll(() => cursorOf(page)).toBeGreaterThan(100);
  await page.getByRole("button", { name: "Pause" }).click();
  await expect(page.getByTestId("playback-state")).toContainText("paused");
  const paused = await cursorOf(page);
  await page.getByRole("button", { name: "Step forward 10 bars" }).click();
  await expect.poll(() => cursorOf(page)).toBe(paused + 10);

  await page.getByLabel("Go to (UTC)").fill("2025-06-01T12:00");
  await page.getByRole("button", { name: "Go", exact: true }).click();
  await expect(page.getByTestId("cursor-time")).toHaveText("2025-06-01 12:00");
  await expect(page.getByTestId("notices")).toContainText("The playback jumped");
  await expect(page.getByTestId("live-chart")).toHaveAttribute("data-candles", "2000");
});
