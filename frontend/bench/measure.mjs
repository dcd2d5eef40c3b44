// Browser measurements for `make bench` (bench/bench_frontend.py starts the stack and records the results):
//   node bench/measure.mjs <api url> <run id> <token> [--playback-only]
// prints one JSON document. Debian's chromium, headless, as the browser tests use it.
import { chromium } from "@playwright/test";
import { controlLatency } from "../e2e/control-latency.mjs";

const [apiUrl, runId, token, only] = process.argv.slice(2);
const DETAIL_LOADS = 12;
const PLAYBACK_SECONDS = 8;
// Speeds the backend offers, from a slow replay to its fastest: about 1, 33 and 167 bars in each of the
// stream's 30 frames a second.
const SPEEDS = [30, 1000, 5000];
const CONTROL_ROUNDS = 4; // Pause then Play, at each speed
const HISTORY = 50_000;

const browser = await chromium.launch({
  executablePath: process.env.HEWSTON_CHROMIUM ?? "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"],
});

async function newPage(paths) {
  const context = await browser.newContext({ baseURL: apiUrl, viewport: { width: 1440, height: 900 } });
  await context.addInitScript(([t, p]) => {
    sessionStorage.setItem("hewston.token", t);
    localStorage.setItem("hewston.dataPaths", JSON.stringify(p));
  }, [token, paths]);
  return { context, page: await context.newPage() };
}

/** Milliseconds from navigation start to the run page's charts being drawn (its own performance mark). */
async function drawnAfter(page) {
  await page.goto(`/runs/${runId}`);
  await page.waitForSelector('[data-drawn="true"]', { timeout: 30_000 });
  return page.evaluate(() => performance.getEntriesByName("hewston:run-detail-drawn")[0]?.startTime ?? null);
}

async function detailTimes(paths) {
  const { context, page } = await newPage(paths);
  const first = await drawnAfter(page); // the server's caches (and the browser's) start cold for this path
  const warm = [];
  for (let i = 0; i < DETAIL_LOADS; i += 1) warm.push(await drawnAfter(page));
  await context.close();
  return { first, warm };
}

/** Animation frames per second a page paints, and stream frames it receives and applies, over `seconds`. */
async function sample(page, seconds) {
  return page.evaluate(async (s) => {
    const root = document.querySelector('[data-testid="live-chart"]');
    const counter = (name) => Number(root?.getAttribute(name) ?? "0");
    let painted = 0;
    let gaps = [];
    let last = performance.now();
    const start = last;
    const startApplied = counter("data-frames-applied");
    const startReceived = counter("data-frames-received");
    await new Promise((done) => {
      const tick = (now) => {
        painted += 1;
        gaps.push(now - last);
        last = now;
        if (now - start < s * 1000) requestAnimationFrame(tick);
        else done();
      };
      requestAnimationFrame(tick);
    });
    const elapsed = (performance.now() - start) / 1000;
    gaps = gaps.slice(1).sort((a, b) => a - b);
    return {
      paintedFps: painted / elapsed,
      appliedFps: (counter("data-frames-applied") - startApplied) / elapsed,
      // Frames the page took off the socket (the same as applied once every one is drawn); null on a page
      // that does not count them.
      receivedFps: root?.hasAttribute("data-frames-received")
        ? (counter("data-frames-received") - startReceived) / elapsed : null,
      p99FrameGapMs: gaps[Math.floor(0.99 * (gaps.length - 1))] ?? null,
      candlesOnScreen: Number(root?.getAttribute("data-visible-candles") ?? "0"),
      candles: counter("data-candles"),
    };
  }, seconds);
}

/** Whether the page shows the playback `state` within a minute. */
async function settled(page, state) {
  return page.waitForFunction((expected) => document.querySelector('[data-testid="playback-state"]')?.textContent
    ?.includes(expected), state, { timeout: 60_000 }).then(() => true, () => false);
}

async function playback() {
  const { context, page } = await newPage({});
  await page.goto(`/runs/${runId}/playback?history=${HISTORY}`);
  const chart = page.getByTestId("live-chart");
  await page.waitForFunction(() => document.querySelector('[data-testid="connection-state"]')?.textContent === "Live");
  // Two months in, so that 50,000 bars of history lie before the cursor.
  await page.getByLabel("Go to (UTC)").fill("2025-03-01T00:00");
  await page.getByRole("button", { name: "Go", exact: true }).click();
  await page.waitForFunction((n) => Number(document.querySelector('[data-testid="live-chart"]')
    ?.getAttribute("data-candles")) >= n, HISTORY, { timeout: 90_000 });
  // Zoom out as far as the chart goes, as a person would with the mouse wheel.
  await page.getByTestId("playback-price-chart").hover();
  let visible = -1;
  for (let i = 0; i < 80 && Number(await chart.getAttribute("data-visible-candles")) > visible; i += 1) {
    visible = Number(await chart.getAttribute("data-visible-candles"));
    await page.mouse.wheel(0, 800);
    await page.waitForTimeout(50);
  }
  const idle = await sample(page, 3);
  const speeds = [];
  for (const speed of SPEEDS) {
    await page.getByLabel("Speed").selectOption(String(speed));
    await page.waitForFunction((v) => document.querySelector('[data-testid="playback-state"]')?.textContent
      ?.includes(`${v.toLocaleString("en-US")} bars/s`), speed);
    const controlsMs = [await controlLatency(page, "Play", "playing")];
    const playing = await sample(page, PLAYBACK_SECONDS);
    for (let round = 0; round < CONTROL_ROUNDS; round += 1) {
      controlsMs.push(await controlLatency(page, "Pause", "paused"));
      // A page too busy to answer in time is given a minute more before the next click.
      if (!(await settled(page, "paused"))) break;
      await page.waitForTimeout(300);
      if (round < CONTROL_ROUNDS - 1) {
        controlsMs.push(await controlLatency(page, "Play", "playing"));
        if (!(await settled(page, "playing"))) break;
        await page.waitForTimeout(1000);
      }
    }
    speeds.push({ speed, playing, controlsMs });
  }
  await context.close();
  return { idle, speeds, seconds: PLAYBACK_SECONDS, history: HISTORY };
}

const playbackOnly = only === "--playback-only";
const result = {
  detailApi: playbackOnly ? null : await detailTimes({}),
  detailDirect: playbackOnly ? null : await detailTimes({ runs: "direct", charts: "direct" }),
  playback: await playback(),
  chromium: browser.version(),
};
await browser.close();
console.log(JSON.stringify(result));
