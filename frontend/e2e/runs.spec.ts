import { ALICE, BOB, expect, runsOf, signIn, test } from "./fixtures";

test.describe("runs", () => {
  // The form's first submission is refused on purpose (422); the browser logs the refused request.
  test.use({ allowedConsoleErrors: [/status of 422/] });

  test("lists runs with status, strategy, symbol and headline metrics", async ({ page }) => {
    await signIn(page, ALICE);
    const rows = page.getByTestId("run-row");
    await expect(rows).toHaveCount((await runsOf(ALICE)).length);
    const btc = rows.filter({ hasText: "BTCUSD" });
    await expect(btc).toContainText("ma_crossover");
    await expect(btc).toContainText("completed");
    await expect(btc).toContainText("shared with bob");
    await expect(btc.getByRole("cell").nth(3)).toContainText("%");
    await expect(page.getByRole("navigation", { name: "Runs pages" })).toContainText("of");
  });

  test("a new backtest shows the API's reason next to the field, then runs with progress", async ({ page }) => {
    await signIn(page, ALICE);
    await page.getByRole("button", { name: "New backtest" }).click();
    await page.getByLabel("Symbol").selectOption("GLOBEX");
    await page.getByLabel("Bars").selectOption("hour");
    await page.getByLabel("Fast (fast)").fill("60");
    await page.getByLabel("Slow (slow)").fill("50");
    await page.getByRole("button", { name: "Start backtest" }).click();
    const fast = page.getByLabel("Fast (fast)");
    await expect(fast).toHaveAttribute("aria-invalid", "true");
    await expect(page.getByText("must be smaller than slow")).toBeVisible();

    await fast.fill("5");
    await page.getByLabel("Cash").fill("0");
    await page.getByRole("button", { name: "Start backtest" }).click();
    await expect(page.getByText("Input should be greater than 0")).toBeVisible();

    await page.getByLabel("Cash").fill("25000");
    await page.getByRole("button", { name: "Start backtest" }).click();
    await expect(page.getByText("Run queued")).toBeVisible();
    const row = page.getByTestId("run-row").filter({ hasText: "GLOBEX · hour" });
    await expect(row).toContainText("completed", { timeout: 30_000 });
    await expect(row.getByRole("cell").nth(3)).toContainText("%");
  });

  test("the owner shares a run, and the other user then sees it", async ({ page }) => {
    await signIn(page, ALICE);
    const row = page.getByTestId("run-row").filter({ hasText: "ACME · hour" });
    await row.getByRole("button", { name: "Share" }).click();
    const dialog = page.getByRole("dialog", { name: /Share ACME/ });
    await dialog.getByLabel("User name").fill("bob");
    await dialog.getByRole("button", { name: "Share", exact: true }).click();
    await expect(dialog.getByRole("listitem").filter({ hasText: "bob" })).toBeVisible();
    expect((await runsOf(BOB)).some((r) => r.symbol === "ACME" && r.owner === "alice")).toBe(true);
    await dialog.getByRole("button", { name: "Stop sharing" }).click();
    await expect(dialog.getByText("Nobody yet.")).toBeVisible();
    await dialog.getByRole("button", { name: "Close" }).click();
  });
});
