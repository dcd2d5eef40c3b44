// End-to-end tests: Debian's chromium (nothing is downloaded) driven by Playwright against a real Hewston
// stack that e2e/global-setup.ts starts on loopback with demo data in a temporary directory.
import { defineConfig } from "@playwright/test";

const chromium = process.env.HEWSTON_CHROMIUM ?? "/usr/bin/chromium";

export default defineConfig({
  testDir: "e2e",
  globalSetup: "./e2e/global-setup.ts",
  // One browser and one stack on a small machine: tests run one after the other, each bounded in time.
  workers: 1,
  fullyParallel: false,
  timeout: 60_000,
  globalTimeout: 12 * 60_000,
  expect: { timeout: 15_000 },
  retries: 0,
  reporter: process.env.CI ? [["list"]] : [["list"]],
  outputDir: "test-results",
  use: {
    headless: true,
    viewport: { width: 1440, height: 900 },
    trace: "off",
    screenshot: "only-on-failure",
    launchOptions: {
      executablePath: chromium,
      // The machine has no network: without these, chromium stalls on background connections. Playwright
      // gives every launch a fresh temporary profile (--user-data-dir) of its own.
      args: [
        "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
      ],
    },
  },
});
