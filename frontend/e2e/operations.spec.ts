import type { Page } from "@playwright/test";
import { ALICE, apiUrl, BOB, expect, runsOf, signIn, test } from "./fixtures";
import { screenshot } from "./screenshots";

// The demo's operator (`hewston up` names the demo user `ops` one; the backend decides, the api asks).
const OPS = "hw_demo_ops";

async function tileValue(page: Page, series: string): Promise<string> {
  return page.getByTestId(`tile-${series}`).getByTestId("tile-value").innerText();
}

test.describe("a non-operator", () => {
  test.use({ allowedConsoleErrors: [/status of 403/] });

  test("is refused: 403 from the api and a page that says so", async ({ page }) => {
    const refused = await fetch(`${apiUrl()}/api/v1/ops/summary`, { headers: { Authorization: `Bearer ${BOB}` } });
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe("forbidden");

    await signIn(page, BOB);
    await page.getByRole("link", { name: "Operations" }).click();
    await expect(page.getByText("Operations are for operators", { exact: true })).toBeVisible();
    await expect(page.getByTestId("ops-forbidden")).toContainText("bob");
    await expect(page.getByTestId("tile-viewers")).toHaveCount(0);
  });
});

test("the operations page follows a shared playback live", async ({ page, browser }, testInfo) => {
  // A run of alice's that the playback tests do not use: the shared playback's state outlives this test.
  const run = (await runsOf(ALICE)).find((r) => r.symbol === "ACME" && r.owner === "alice");
  if (!run) throw new Error("the demo data has no ACME run of alice's");
  await signIn(page, OPS);
  await page.goto("/operations");
  await expect(page.getByRole("heading", { name: "Operations" })).toBeVisible();
  await expect(page.getByTestId("ops-health")).toBeVisible();
  // Sparklines fill as the nodes' samples arrive.
  await expect.poll(async () => Number(await page.getByTestId("tile-requests_per_s").locator("svg")
    .getAttribute("data-points") ?? "0"), { timeout: 20_000 }).toBeGreaterThan(2);
  const viewersBefore = await tileValue(page, "viewers");

  // alice plays the shared run through the api in a browser of her own.
  const aliceContext = await browser.newContext({ baseURL: apiUrl(), viewport: { width: 1280, height: 800 } });
  const alice = await aliceContext.newPage();
  try {
    await signIn(alice, ALICE);
    await alice.goto(`/runs/${run.id}/playback`);
    await expect(alice.getByTestId("connection-state")).toHaveText("Live");
    await alice.getByRole("button", { name: "Play" }).click();

    await expect.poll(() => tileValue(page, "viewers"), { timeout: 20_000 }).not.toBe(viewersBefore);
    expect(await tileValue(page, "viewers")).toBe("1");
    const watched = page.getByRole("table", { name: "Watched runs" }).getByRole("row").filter({ hasText: run.id });
    await expect(watched.getByTestId("run-viewers")).toHaveText("1");
    await expect(watched).not.toContainText("none");
    // Messages keep flowing while it plays: the rate is above zero and changes from sample to sample.
    await expect.poll(() => tileValue(page, "messages_in_per_s"), { timeout: 20_000 }).not.toBe("0.00/s");
    const seen = new Set<string>();
    await expect.poll(async () => {
      seen.add(await tileValue(page, "messages_in_per_s"));
      return seen.size;
    }, { timeout: 20_000 }).toBeGreaterThan(1);
    await expect(page.getByRole("table", { name: "Routes" })).toContainText("/api/v1/");
    // The audit trail saw alice's play control.
    await expect(page.getByTestId("audit-event").filter({ hasText: "playback control" }).first()).toContainText("alice");
    await screenshot(page, "operations", testInfo);
    await alice.getByRole("button", { name: "Pause" }).click();
    await expect(alice.getByTestId("playback-state")).toContainText("paused");
  } finally {
    await aliceContext.close();
  }
});
