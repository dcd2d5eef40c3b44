// Numbers a trader reads and a page anyone can use: figures that never wrap, explanations where two figures
// look at odds, hint text at 4.5:1 contrast or more, charts zoomed and panned from the keyboard.
import type { Locator } from "@playwright/test";
import { ALICE, expect, openDemoRun, sharedDemoRun, signIn, test } from "./fixtures";

/** The WCAG contrast ratio of an element's text against the first opaque background behind it. */
async function contrast(locator: Locator): Promise<number> {
  return locator.evaluate((element) => {
    // Any CSS colour (the app's are oklch) as sRGB bytes with alpha, by painting it on a canvas.
    const context = document.createElement("canvas").getContext("2d", { willReadFrequently: true });
    const rgba = (value: string) => {
      if (context === null) return [0, 0, 0, 0];
      context.clearRect(0, 0, 1, 1);
      context.fillStyle = value;
      context.fillRect(0, 0, 1, 1);
      const [r = 0, g = 0, b = 0, a = 0] = context.getImageData(0, 0, 1, 1).data;
      return [r, g, b, a / 255];
    };
    const luminance = ([r, g, b]: number[]) => {
      const channel = (c: number) => {
        const s = c / 255;
        return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
      };
      return 0.2126 * channel(r ?? 0) + 0.7152 * channel(g ?? 0) + 0.0722 * channel(b ?? 0);
    };
    // Composite the translucent backgrounds from the page's own up to the element.
    const layers: number[][] = [];
    for (let node: Element | null = element; node; node = node.parentElement) {
      const bg = rgba(getComputedStyle(node).backgroundColor);
      if ((bg[3] ?? 0) > 0) layers.push(bg);
    }
    let base = [2, 6, 23]; // the page's slate-950
    for (const [r = 0, g = 0, b = 0, a = 1] of layers.reverse()) {
      base = [r * a + (base[0] ?? 0) * (1 - a), g * a + (base[1] ?? 0) * (1 - a), b * a + (base[2] ?? 0) * (1 - a)];
    }
    const text = luminance(rgba(getComputedStyle(element).color));
    const back = luminance(base);
    return (Math.max(text, back) + 0.05) / (Math.min(text, back) + 0.05);
  });
}

test("run page: values on one line at 1440 px, explained figures, readable hints, keyboard zoom", async ({ page }) => {
  await openDemoRun(page);
  const cards = page.locator('[data-testid^="metric-"]');
  for (let i = 0; i < await cards.count(); i += 1) {
    const value = cards.nth(i).locator("p").nth(1);
    const height = (await value.boundingBox())?.height ?? 0;
    const line = await value.evaluate((e) => parseFloat(getComputedStyle(e).lineHeight));
    expect(height, `${await cards.nth(i).innerText()} fits one line`).toBeLessThanOrEqual(line + 1);
    const note = cards.nth(i).locator("p").nth(2);
    expect(await contrast(note), "a card's note is readable").toBeGreaterThanOrEqual(4.5);
  }
  await expect(page.getByTestId("metric-total_return")).toContainText(/\d/);

  // 0 on the focused chart shows the whole run, + and − zoom, ← and → pan.
  const root = page.getByTestId("run-charts");
  const from = async () => Number(await root.getAttribute("data-visible-from"));
  const span = async () => Number(await root.getAttribute("data-visible-to")) - (await from());
  await page.getByTestId("run-chart").focus();
  await page.keyboard.press("0");
  await expect.poll(span).toBeGreaterThan(300 * 86_400);
  const whole = await span();
  await page.keyboard.press("+");
  await expect.poll(span).toBeLessThan(whole * 0.8);
  const zoomed = await span();
  const start = await from();
  await page.keyboard.press("ArrowLeft");
  await expect.poll(from).toBeLessThan(start);
  await page.keyboard.press("-");
  await expect.poll(span).toBeGreaterThan(zoomed * 1.3);
});

test("playback: labelled controls, readable key hints", async ({ page }) => {
  const run = await sharedDemoRun();
  await signIn(page, ALICE);
  await page.goto(`/runs/${run.id}/playback`);
  await expect(page.getByTestId("connection-state")).toHaveText("Live");
  for (const name of ["Step back 10 bars", "Step back 1 bar", "Step forward 1 bar", "Step forward 10 bars"]) {
    await expect(page.getByRole("button", { name })).toBeVisible();
  }
  await expect(page.getByLabel("Speed")).toBeVisible();
  await expect(page.getByRole("slider")).toHaveAttribute("aria-valuetext", /^bar [\d,]+ of [\d,]+$/);
  expect(await contrast(page.getByTestId("hotkeys"))).toBeGreaterThanOrEqual(4.5);
  expect(await contrast(page.getByTestId("viewers"))).toBeGreaterThanOrEqual(4.5);
});
