import type { Page } from "@playwright/test";
import { ALICE, apiUrl, BOB, expect, sharedDemoRun, signIn, test, watchConsole } from "./fixtures";
import { screenshot } from "./screenshots";

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

test.describe("the shared stream", () => {
  test("two viewers see the same bars and cursor; the follower cannot control", async ({ page, browser }, testInfo) => {
    const run = await sharedDemoRun();
    // Bob watches in a browser of his own (his own tab session); alice owns the run and controls it.
    const bobContext = await browser.newContext({ baseURL: apiUrl(), viewport: { width: 1280, height: 800 } });
    const bob = await bobContext.newPage();
    const bobErrors: string[] = [];
    watchConsole(bob, bobErrors);
    try {
      await signIn(page, ALICE);
      await signIn(bob, BOB);
      await page.goto(`/runs/${run.id}/playback`);
      await bob.goto(`/runs/${run.id}/playback`);
      for (const viewer of [page, bob]) {
        await expect(viewer.getByTestId("connection-state")).toHaveText("Live");
        await expect(viewer.getByText("shared stream", { exact: true })).toBeVisible();
      }
      // Viewer counts reach every node's viewers through the stream (hello, then heartbeats).
      await expect(page.getByTestId("viewers")).toHaveText("2 viewers", { timeout: 15_000 });
      await expect(bob.getByTestId("control-hint")).toContainText("only the run's owner controls");
      await expect(bob.getByRole("button", { name: "Play" })).toBeDisabled();
      await expect(bob.getByLabel("Speed")).toBeDisabled();

      await page.getByLabel("Speed").selectOption("300");
      await expect(bob.getByTestId("playback-state")).toContainText("300 bars/s");
      const before = await cursorOf(bob);
      await page.getByRole("button", { name: "Play" }).click();
      await expect(bob.getByTestId("playback-state")).toContainText("playing");
      await expect.poll(() => framesApplied(page)).toBeGreaterThan(20);
      await expect.poll(() => framesApplied(bob)).toBeGreaterThan(20);
      await expect.poll(() => cursorOf(bob)).toBeGreaterThan(before + 100);
      await screenshot(page, "playback", testInfo);

      await page.getByRole("button", { name: "Pause" }).click();
      await expect(bob.getByTestId("playback-state")).toContainText("paused");
      await expect.poll(async () => (await cursorOf(bob)) - (await cursorOf(page))).toBe(0);
      const cursor = await cursorOf(page);
      expect(cursor).toBeGreaterThan(before + 100);
      await expect(bob.getByTestId("cursor-time")).toHaveText(await page.getByTestId("cursor-time").innerText());

      // A seek by the owner rebuilds both views at the same bar, and both are told why.
      await page.getByLabel("Go to (UTC)").fill("2025-03-01T08:30");
      await page.getByRole("button", { name: "Go", exact: true }).click();
      for (const viewer of [page, bob]) {
        await expect(viewer.getByTestId("cursor-time")).toHaveText("2025-03-01 08:30");
        await expect(viewer.getByTestId("notices")).toContainText("The playback jumped");
        await expect(viewer.getByTestId("live-chart")).toHaveAttribute("data-candles", "2000");
      }
      expect(bobErrors).toEqual([]);
    } finally {
      await bobContext.close();
    }
  });
});
