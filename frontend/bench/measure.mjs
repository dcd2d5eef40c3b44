// Browser measurements for `make bench` (bench/bench_frontend.py starts the stack and records the results):
//   node bench/measure.mjs <api url> <run id> <token>
// prints one JSON document. Debian's chromium, headless, as the browser tests use it.
import { chromium } from "@playwright/test";

const [apiUrl, runId, token] = process.argv.slice(2);
const DETAIL_LOADS = 12;
const PLAYBACK_SECONDS = 10;
const SPEED = 600; // bars per second: about 20 bars in each of the 30 frames a second
const HISTORY = 10_000;

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

/** Animation frames per second a page paints, and stream frames it applies, over `seconds`. */
async function sample(page, seconds) {
  return page.evaluate(async (s) => {
    const root = document.querySelector('[data-testid="live-chart"]');
    const applied = () => Number(root?.getAttribute("data-frames-applied") ?? "0");
    let painted = 0;
    let gaps = [];
    let last = performance.now();
    const start = last;
    const startApplied = applied();
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
      appliedFps: (applied() - startApplied) / elapsed,
      p99FrameGapMs: gaps[Math.floor(0.99 * (gaps.length - 1))] ?? null,
      candlesOnScreen: Number(root?.getAttribute("data-visible-candles") ?? "0"),
      candles: Number(root?.getAttribute("data-candles") ?? "0"),
    };
  }, seconds);
}

async function playback() {
  const { context, page } = await newPage({});
  await page.goto(`/runs/${runId}/playback?history=${HISTORY}`);
  const chart = page.getByTestId("live-chart");
  await page.waitForFunction(() => document.querySelector('[data-testid="connection-state"]')?.textContent === "Live");
  // A month in, so that 10,000 bars of history lie before the cursor.
  await page.getByLabel("Go to (UTC)").fill("2025-02-01T00:00");
  await page.getByRole("button", { name: "Go", exact: true }).click();
  await page.waitForFunction((n) => Number(document.querySelector('[data-testid="live-chart"]')
    ?.getAttribute("data-candles")) >= n, HISTORY, { timeout: 60_000 });
  // Zoom out until every candle is on screen, as a person would with the mouse wheel.
  await page.getByTestId("playback-price-chart").hover();
  for (let i = 0; i < 60 && Number(await chart.getAttribute("data-visible-candles")) < HISTORY; i += 1) {
    await page.mouse.wheel(0, 800);
  }
  const idle = await sample(page, 3);
  await page.getByLabel("Speed").selectOption(String(SPEED));
  await page.getByRole("button", { name: "Play" }).click();
  await page.waitForFunction(() => document.querySelector('[data-testid="playback-state"]')?.textContent?.includes("playing"));
  const playing = await sample(page, PLAYBACK_SECONDS);
  await page.getByRole("button", { name: "Pause" }).click();
  await context.close();
  return { idle, playing, speed: SPEED, seconds: PLAYBACK_SECONDS };
}

const result = {
  detailApi: await detailTimes({}),
  detailDirect: await detailTimes({ runs: "direct", charts: "direct" }),
  playback: await playback(),
  chromium: browser.version(),
};
await browser.close();
console.log(JSON.stringify(result));
