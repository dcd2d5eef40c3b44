import type { Page } from "@playwright/test";
import { ALICE, apiUrl, BOB, expect, sharedDemoRun, signIn, test, watchConsole } from "./fixtures";
import { screenshot } from "./screenshots";
import { isPublished, StreamTap, type TappedSocket } from "./stream-tap";

async function framesApplied(page: Page): Promise<number> {
  return Number(await page.getByTestId("live-chart").getAttribute("data-frames-applied") ?? "0");
}

async function cursorOf(page: Page): Promise<number> {
  const text = await page.getByTestId("cursor").innerText();
  return Number(text.split("/")[0]?.replace(/[^\d]/g, "") ?? "0") - 1;
}

/** The bar index of the chart's first candle: it stays put while every bar played is added once. */
async function chartStart(page: Page): Promise<number> {
  const candles = Number(await page.getByTestId("live-chart").getAttribute("data-candles") ?? "NaN");
  return (await cursorOf(page)) + 1 - candles;
}

/** The offsets of the published messages a socket delivered, which must run on without a hole. */
function publishedOffsets(socket: TappedSocket): number[] {
  return socket.delivered.filter(isPublished).map((m) => m.offset);
}

function consecutive(from: number, count: number): number[] {
  return Array.from({ length: count }, (_, i) => from + i);
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

  test("a dropped connection resumes where it was, playing or paused: no gap, no repeat, no reset", async ({ page }) => {
    const run = await sharedDemoRun();
    const tap = await StreamTap.attach(page);
    await signIn(page, ALICE);
    await page.goto(`/runs/${run.id}/playback`);
    const indicator = page.getByTestId("connection-state");
    const notices = page.getByTestId("notices");
    const resumed = notices.getByText("Reconnected: every message you missed was replayed.");
    await expect(indicator).toHaveText("Live");
    await page.getByLabel("Speed").selectOption("300");
    await expect(page.getByTestId("playback-state")).toHaveText("· paused at 300 bars/s");
    await expect(page.getByTestId("live-chart")).toHaveAttribute("data-candles", /^\d+$/);
    const start = await chartStart(page);

    /** Drop the page's connection, check what the viewer is shown meanwhile, and let it reconnect. */
    const dropAndReconnect = async (lose: number) => {
      const dropped = tap.current;
      const attempts = tap.sockets.length;
      tap.hold();
      await dropped.drop(lose);
      const cursorAtDrop = await cursorOf(page);
      await expect(indicator).toHaveAttribute("data-state", /^(reconnecting|connecting)$/);
      await expect(indicator).toContainText("Reconnecting");
      await expect(notices).toContainText("Connection lost (the connection dropped (1006)); reconnecting and resuming where you were.");
      // The reconnect asks for everything after the last message the page received, in the same epoch.
      await expect.poll(() => tap.sockets.length).toBe(attempts + 1);
      const resuming = tap.current;
      const last = dropped.lastDelivered;
      expect(resuming.resumePoint).toEqual({ epoch: last.epoch, offset: last.offset });
      expect(resuming.url.search.includes(ALICE), "the token stays out of the URL").toBe(false);
      tap.release();
      await expect(indicator).toHaveText("Live");
      await expect(indicator).toHaveAttribute("data-state", "open");
      await expect.poll(() => resuming.delivered[0])
        .toEqual({ type: "hello", epoch: last.epoch, offset: last.offset, resume: "recovered" });
      expect(resuming.firstFromPage).toBe("auth");
      // The messages lost in the drop come first, each once, right after the resume point.
      const lost = dropped.lost.filter(isPublished).map((m) => m.offset);
      await expect.poll(() => publishedOffsets(resuming).length).toBeGreaterThanOrEqual(lost.length);
      expect(publishedOffsets(resuming).slice(0, lost.length)).toEqual(consecutive(last.offset + 1, lost.length));
      return cursorAtDrop;
    };

    const pauseAndCheck = async () => {
      await page.getByRole("button", { name: "Pause" }).click();
      await expect(page.getByTestId("playback-state")).toContainText("paused");
      // Every bar since the page joined is on the chart once: the first candle is still the same bar.
      await expect.poll(() => chartStart(page)).toBe(start);
      await expect(indicator).toHaveAttribute("data-gaps", "0");
      await expect(indicator).toHaveAttribute("data-duplicates", "0");
      await expect(notices).not.toContainText(/jumped|fell behind|history|Skipped/);
      expect(publishedOffsets(tap.current)).toEqual(consecutive(publishedOffsets(tap.current)[0] ?? 0,
        publishedOffsets(tap.current).length));
    };

    // While bars are flowing, the link goes dark and drops; what was sent meanwhile is replayed.
    const joined = await cursorOf(page);
    await page.getByRole("button", { name: "Play" }).click();
    await expect.poll(() => cursorOf(page)).toBeGreaterThan(joined + 100);
    const cursorAtFirstDrop = await dropAndReconnect(5);
    await expect(resumed).toHaveCount(1);
    await expect.poll(() => cursorOf(page)).toBeGreaterThan(cursorAtFirstDrop + 100);
    await pauseAndCheck();

    // Paused, only heartbeats flow: the connection drops, resumes with nothing missed and stays alive.
    const paused = await cursorOf(page);
    await dropAndReconnect(0);
    // The newest connection notice took the place of the older ones: one says it resumed, none that it was lost.
    await expect(resumed).toHaveCount(1);
    await expect(notices).not.toContainText("Connection lost");
    await expect.poll(() => tap.current.delivered.some((m) => m.type === "heartbeat"),
      { timeout: 10_000, intervals: [200] }).toBe(true);
    await expect(indicator).toHaveAttribute("data-state", "open");
    expect(publishedOffsets(tap.current), "nothing was missed while paused").toEqual([]);
    expect(await cursorOf(page)).toBe(paused);
    await page.getByRole("button", { name: "Play" }).click();
    await expect.poll(() => cursorOf(page)).toBeGreaterThan(paused + 100);
    await pauseAndCheck();
  });
});
