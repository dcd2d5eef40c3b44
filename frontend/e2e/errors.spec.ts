// No request waits forever: a hung request ends in words and a way to try again, a busy service says so and
// retries by itself, and a run that is not there (or not yours) leads back to the list.
import { ALICE, expect, sharedDemoRun, signIn, test } from "./fixtures";

test.use({ allowedConsoleErrors: [/status of (503|404)/] });

test("a hung request gives up with a retry, a 503 is explained and retried, a missing run links back", async ({ page }) => {
  test.setTimeout(90_000);
  const run = await sharedDemoRun();
  await signIn(page, ALICE);

  // The run's data never answers: the page says so instead of loading for ever, and Try again recovers.
  let hang = true;
  await page.route(`**/api/v1/runs/${run.id}/complete**`, async (route) => {
    if (hang) return; // never fulfilled
    await route.fallback();
  });
  await page.goto(`/runs/${run.id}`);
  await expect(page.getByRole("alert")).toContainText("did not answer within 15 s", { timeout: 25_000 });
  hang = false;
  await page.getByRole("button", { name: "Try again now" }).click();
  await expect(page.getByTestId("run-charts")).toHaveAttribute("data-drawn", "true");
  await page.unroute(`**/api/v1/runs/${run.id}/complete**`);

  // Busy: the words say what is wrong, and a countdown retries by itself once the service is back.
  let busy = true;
  await page.route("**/api/v1/backtests?**", async (route) => {
    if (!busy) return route.fallback();
    return route.fulfill({ status: 503, contentType: "application/json",
      body: JSON.stringify({ error: { code: "backend_unavailable", message: "The backend did not answer.", correlation_id: "c-1" } }) });
  });
  await page.goto("/");
  const alert = page.getByRole("alert");
  await expect(alert).toContainText("The service is busy or a part of it is down for now", { timeout: 20_000 });
  await expect(alert).not.toContainText("HTTP 503");
  await expect(page.getByTestId("retry-countdown")).toContainText(/Retrying in \d+ s/);
  busy = false;
  await expect(page.getByTestId("run-row").first()).toBeVisible({ timeout: 20_000 });

  // A run that is not there leads back to the list.
  await page.goto("/runs/no-such-run");
  await expect(page.getByRole("alert")).toContainText("could not be loaded");
  await page.getByRole("link", { name: "Back to the runs" }).click();
  await expect(page.getByRole("heading", { name: "Runs", exact: true })).toBeVisible();
});
