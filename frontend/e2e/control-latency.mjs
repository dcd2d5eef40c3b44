// How long a playback control takes to answer, as a person meets it: a mouse click on the button (no waiting
// for the page to settle first, as Playwright's click would) until the page shows the playback's new state,
// timed in the page from the click's input event. Shared by the browser tests and `make bench`.

/**
 * Clicks the button named `name` and returns the milliseconds until the playback state shows `state`, or
 * null when it did not within `timeoutMs`.
 * @param {import("@playwright/test").Page} page
 * @param {string} name
 * @param {string} state
 * @param {number} [timeoutMs]
 * @returns {Promise<number | null>}
 */
export async function controlLatency(page, name, state, timeoutMs = 30_000) {
  const box = await page.getByRole("button", { name, exact: true }).boundingBox({ timeout: timeoutMs });
  if (box === null) return null;
  await page.evaluate(([expected, timeout]) => {
    const status = document.querySelector('[data-testid="playback-state"]');
    window.__hewstonControl = new Promise((resolve) => {
      let clickedAt = null;
      document.addEventListener("pointerdown", (event) => {
        clickedAt = event.timeStamp;
      }, { capture: true, once: true });
      const observer = new MutationObserver(() => {
        if (clickedAt === null || !status?.textContent?.includes(expected)) return;
        observer.disconnect();
        resolve(performance.now() - clickedAt);
      });
      observer.observe(status, { childList: true, characterData: true, subtree: true });
      setTimeout(() => {
        observer.disconnect();
        resolve(null);
      }, timeout);
    });
  }, [state, timeoutMs]);
  await page.mouse.click(box.x + box.width / 2, box.y + box.height / 2);
  return page.evaluate(() => window.__hewstonControl);
}
