// The replay as a trader drives it: responsive at the backend's fastest speed, one notice area that never moves
// the chart, the keyboard, and the viewer count.
import type { Page } from "@playwright/test";
import { drawnCandle, seriesEnds } from "./chart-probe";
import { controlLatency } from "./control-latency.mjs";
import { ALICE, apiUrl, BOB, expect, sharedDemoRun, signIn, test, watchConsole } from "./fixtures";

async function counter(page: Page, name: string): Promise<number> {
  return Number(await page.getByTestId("live-chart").getAttribute(name) ?? "0");
}

async function cursorOf(page: Page): Promise<number> {
  const text = await page.getByTestId("cursor").innerText();
  return Number(text.split("/")[0]?.replace(/[^\d]/g, "") ?? "0") - 1;
}

async function openPlayback(page: Page, runId: string): Promise<void> {
  await signIn(page, ALICE);
  await page.goto(`/runs/${runId}/playback`);
  await expect(page.getByTestId("connection-state")).toHaveText("Live");
}

/** Jumps everyone back to the start through Home and its confirmation, paused. */
async function backToStart(page: Page): Promise<void> {
  if ((await page.getByTestId("playback-state").innerText()).includes("playing")) await page.keyboard.press("Space");
  await expect(page.getByTestId("playback-state")).toContainText("paused");
  await page.keyboard.press("Home");
  await page.getByTestId("confirm-jump").getByRole("button", { name: "Go to the start" }).click();
  await expect(page.getByTestId("cursor")).toHaveText(/^0 \//);
}

// Pause must answer at once, not after the frames already on their way: a pause that waited behind them would take
// seconds at this speed. The 100 ms target itself is `make bench`'s (bench/bench_frontend.py, p99 over 24 clicks on
// a quiet machine); here, with the whole stack and the browser sharing the test machine, one click in three has
// been seen to take 130 ms.
const PAUSE_AT_ONCE_MS = 500;

test("at 5,000 bars/s every frame is drawn, the page keeps painting and Pause answers at once", async ({ page }) => {
  const run = await sharedDemoRun();
  await openPlayback(page, run.id);
  await page.getByLabel("Speed").selectOption("5000");
  await expect(page.getByTestId("playback-state")).toContainText("5,000 bars/s");
  const latencies: (number | null)[] = [];
  for (let round = 0; round < 3; round += 1) {
    expect(await controlLatency(page, "Play", "playing")).not.toBeNull();
    const start = await counter(page, "data-frames-applied");
    await expect.poll(() => counter(page, "data-frames-applied")).toBeGreaterThan(start + 45); // 1.5 s of frames
    // Painting goes on while the bars pour in (`make bench` measures the rate; this machine may be busy).
    const painted = await page.evaluate(() => new Promise<number>((done) => {
      let n = 0;
      const begin = performance.now();
      const tick = (now: number) => {
        n += 1;
        if (now - begin < 1000) requestAnimationFrame(tick);
        else done(n / ((now - begin) / 1000));
      };
      requestAnimationFrame(tick);
    }));
    expect(painted).toBeGreaterThan(10);
    latencies.push(await controlLatency(page, "Pause", "paused"));
    await expect(page.getByTestId("playback-state")).toContainText("paused");
    // Every frame received is on the chart once the page has painted.
    await expect.poll(async () => (await counter(page, "data-frames-applied")) - (await counter(page, "data-frames-received")))
      .toBe(0);
  }
  for (const ms of latencies) {
    expect(ms, `Pause answered in ${latencies.join(", ")} ms`).not.toBeNull();
    expect(ms ?? Infinity).toBeLessThan(PAUSE_AT_ONCE_MS);
  }
});

test("one notice area over the page: the newest replaces the older of its kind, it can be dismissed, the chart never moves", async ({ page }) => {
  const run = await sharedDemoRun();
  await openPlayback(page, run.id);
  await page.getByRole("heading", { name: /Playback/ }).click(); // the keyboard belongs to the page
  await backToStart(page);
  // Before the first bar, the empty chart says what to do.
  await expect(page.getByTestId("empty-chart-hint")).toContainText("Press Play (or Space) to start");
  const chart = page.getByTestId("playback-price-chart");
  const before = await chart.boundingBox();
  for (const date of ["2025-04-01T10:00", "2025-04-02T10:00", "2025-04-03T10:00"]) {
    await page.getByLabel("Go to (UTC)").fill(date);
    await page.getByRole("button", { name: "Go", exact: true }).click();
    await expect(page.getByTestId("cursor-time")).toHaveText(date.replace("T", " "));
  }
  const notices = page.getByTestId("notices");
  // Three seeks, one notice (four with the jump to the start), saying how many times it came.
  await expect(notices.locator('[data-kind="reset"]')).toHaveCount(1);
  await expect(notices.locator('[data-kind="reset"]')).toContainText("The playback jumped");
  await expect(notices.locator('[data-kind="reset"]')).toContainText("×4");
  await expect(page.getByTestId("empty-chart-hint")).toHaveCount(0);
  expect(await chart.boundingBox(), "a notice does not push the chart").toEqual(before);
  await notices.getByRole("button", { name: "Dismiss notice" }).click();
  await expect(notices.locator("[data-kind]")).toHaveCount(0);
});

test("keyboard and chart: Space, arrows, speed keys, Home/End confirmed first, next fill, click to seek", async ({ page }) => {
  const run = await sharedDemoRun();
  await openPlayback(page, run.id);
  await page.getByRole("heading", { name: /Playback/ }).click();
  await backToStart(page);
  await expect(page.getByTestId("hotkeys")).toContainText("Space");

  await page.keyboard.press("Space");
  await expect(page.getByTestId("playback-state")).toContainText("playing");
  await page.keyboard.press("Space");
  await expect(page.getByTestId("playback-state")).toContainText("paused");
  const paused = await cursorOf(page);
  await page.keyboard.press("ArrowRight");
  await expect.poll(() => cursorOf(page)).toBe(paused + 1);
  await page.keyboard.press("Shift+ArrowRight");
  await expect.poll(() => cursorOf(page)).toBe(paused + 11);
  await page.keyboard.press("ArrowLeft");
  await expect.poll(() => cursorOf(page)).toBe(paused + 10);

  await page.getByLabel("Speed").selectOption("300");
  // The speed keys step from the speed the playback answered with: wait for it first.
  await expect(page.getByTestId("playback-state")).toContainText("300 bars/s");
  await page.getByRole("heading", { name: /Playback/ }).click();
  await page.keyboard.press("]");
  await expect(page.getByTestId("playback-state")).toContainText("600 bars/s");
  await page.keyboard.press("[");
  await expect(page.getByTestId("playback-state")).toContainText("300 bars/s");
  await page.keyboard.press("[");
  await expect(page.getByTestId("playback-state")).toContainText("120 bars/s");

  // End asks first (everyone watching would jump); Escape leaves the playback where it is.
  await page.keyboard.press("End");
  await expect(page.getByTestId("confirm-jump")).toContainText("Everyone watching this playback jumps there too");
  await page.keyboard.press("Escape");
  await expect(page.getByTestId("confirm-jump")).toHaveCount(0);
  expect(await cursorOf(page)).toBe(paused + 10);
  // The slider's own End key asks too, instead of seeking at once.
  await page.getByRole("slider").focus();
  await page.keyboard.press("End");
  await expect(page.getByTestId("confirm-jump")).toBeVisible();
  await page.getByTestId("confirm-jump").getByRole("button", { name: "Cancel" }).click();
  expect(await cursorOf(page)).toBe(paused + 10);

  // N goes to the next fill after the cursor.
  const orders = await fetch(`${apiUrl()}/api/v1/backtests/${run.id}/orders`, { headers: { Authorization: `Bearer ${ALICE}` } })
    .then((r) => r.json() as Promise<{ orders: { time: number }[] }>);
  const now = Date.parse(`${(await page.getByTestId("cursor-time").innerText()).replace(" ", "T")}:00Z`) / 1000;
  const next = orders.orders.find((o) => o.time > now);
  expect(next).toBeDefined();
  await page.getByRole("heading", { name: /Playback/ }).click();
  await page.keyboard.press("n");
  const expected = new Date((next?.time ?? 0) * 1000).toISOString().slice(0, 16).replace("T", " ");
  await expect(page.getByTestId("cursor-time")).toHaveText(expected);

  // A click on a bar of the price chart seeks there: a bar 30 before the cursor's, aimed at where the chart
  // draws it once the history up to the cursor is on the chart (its newest candle is the cursor's).
  const cursor = await cursorOf(page);
  const chart = page.getByTestId("playback-price-chart");
  const cursorTime = Date.parse(`${expected.replace(" ", "T")}:00Z`) / 1000;
  await expect.poll(async () => (await drawnCandle(chart, 0))?.time).toBe(cursorTime);
  const target = await drawnCandle(chart, 30);
  if (target === null) throw new Error("the chart does not show the bar 30 before the cursor");
  await page.mouse.click(target.x, target.y);
  await expect.poll(() => cursorOf(page)).toBe(cursor - 30);
  await expect(page.getByTestId("cursor-time")).toHaveText(new Date(target.time * 1000).toISOString().slice(0, 16).replace("T", " "));
  await expect(page.getByTestId("notices")).toContainText("The playback jumped");
});

test("the strategy's lines follow the bars played on the playback chart, never ahead of them", async ({ page }) => {
  const run = await sharedDemoRun(); // a moving-average crossover: SMA 30 and SMA 240
  await openPlayback(page, run.id);
  await page.getByRole("heading", { name: /Playback/ }).click();
  await backToStart(page);
  const chart = page.getByTestId("playback-price-chart");
  await page.getByLabel("Speed").selectOption("300");
  await page.getByRole("heading", { name: /Playback/ }).click();
  await page.keyboard.press("Space");
  // While it plays, no line has a point later than the newest candle on the chart.
  let seen = 0;
  for (let i = 0; i < 12; i += 1) {
    const ends = await seriesEnds(chart);
    for (const label of ["SMA 30", "SMA 240"]) {
      const end = ends[label];
      if (end === undefined) continue;
      seen += 1;
      expect(end.time, `${label} at most at the newest candle`).toBeLessThanOrEqual(ends.candles?.time ?? -1);
    }
    await page.waitForTimeout(250);
  }
  expect(seen, "the lines were drawn while playing").toBeGreaterThan(0);
  await expect.poll(() => cursorOf(page), { timeout: 15_000 }).toBeGreaterThan(400);
  await page.keyboard.press("Space");
  await expect(page.getByTestId("playback-state")).toContainText("paused");

  // Paused, the lines catch up with the last bar played, with the run's own values there.
  const cursorTime = Date.parse(`${(await page.getByTestId("cursor-time").innerText()).replace(" ", "T")}:00Z`) / 1000;
  await expect.poll(async () => (await seriesEnds(chart))["SMA 240"]?.time, { timeout: 10_000 }).toBe(cursorTime);
  const ends = await seriesEnds(chart);
  expect(ends.candles?.time).toBe(cursorTime);
  const body = await fetch(`${apiUrl()}/api/v1/backtests/${run.id}/indicators?from=${cursorTime}&to=${cursorTime}`,
    { headers: { Authorization: `Bearer ${ALICE}` } }).then((r) => r.json() as Promise<{ lines: { label: string; values: number[] }[] }>);
  for (const line of body.lines) expect(ends[line.label]?.value).toBeCloseTo(line.values[0] ?? Number.NaN, 6);
  // Named with their parameters in the legend.
  await expect(page.getByTestId("chart-legend").locator('[data-legend="SMA 30"]')).toContainText(/\d{1,3}(,\d{3})*\.\d{2}/);
});

test("the viewer count follows people joining and leaving", async ({ page, browser }) => {
  const run = await sharedDemoRun();
  await openPlayback(page, run.id);
  const bobContext = await browser.newContext({ baseURL: apiUrl() });
  const bob = await bobContext.newPage();
  const bobErrors: string[] = [];
  watchConsole(bob, bobErrors);
  try {
    await signIn(bob, BOB);
    await bob.goto(`/runs/${run.id}/playback`);
    await expect(bob.getByTestId("connection-state")).toHaveText("Live");
    await expect(page.getByTestId("viewers")).toHaveText("2 viewers", { timeout: 15_000 });
    await expect(bob.getByTestId("viewers")).toHaveText("2 viewers", { timeout: 15_000 });
    expect(bobErrors).toEqual([]);
  } finally {
    await bobContext.close();
  }
  await expect(page.getByTestId("viewers")).toHaveText("1 viewer", { timeout: 20_000 });
});
