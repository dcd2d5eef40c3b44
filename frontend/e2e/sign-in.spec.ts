import { ALICE, expect, signIn, test } from "./fixtures";

test.describe("sign in", () => {
  // Refused tokens are answered 401 on purpose here; the browser logs each refused request.
  test.use({ allowedConsoleErrors: [/status of 401/] });

  test("a wrong token is refused with a clear message, the demo token signs in", async ({ page }) => {
    await page.goto("/");
    await page.getByLabel("API token").fill("hw_not_a_token");
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect(page.getByText("This token was not accepted")).toBeVisible();
    await signIn(page, ALICE);
    await expect(page.getByTestId("run-row").first()).toBeVisible();
  });

  test("the token lasts while the tab is open; a token the server stops accepting shows the 401 screen", async ({ page }) => {
    await signIn(page, ALICE);
    await page.reload();
    await expect(page.getByRole("heading", { name: "Runs", exact: true })).toBeVisible();
    await page.evaluate(() => sessionStorage.setItem("hewston.token", "hw_revoked_token"));
    await page.reload();
    await expect(page.getByRole("heading", { name: "Your token is not accepted" })).toBeVisible();
    await page.getByRole("button", { name: "Sign in again" }).click();
    await expect(page.getByLabel("API token")).toBeVisible();
  });
});
