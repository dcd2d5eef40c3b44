// The README's pictures are taken by the tests: `make screenshots` (HEWSTON_UPDATE_SCREENSHOTS=1) writes them
// into docs/images; ordinary runs keep them with the test results, so `make test` changes no tracked file.
import { join } from "node:path";
import type { Page, TestInfo } from "@playwright/test";
import { REPO } from "./stack";

export async function screenshot(page: Page, name: string, testInfo: TestInfo): Promise<void> {
  const path = process.env.HEWSTON_UPDATE_SCREENSHOTS === "1"
    ? join(REPO, "docs", "images", `${name}.png`)
    : testInfo.outputPath(`${name}.png`);
  await page.screenshot({ path, fullPage: false });
}
