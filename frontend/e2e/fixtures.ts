// What every browser test shares: the stack's URLs, signing in, the demo runs, and a check that the page
// logged no console error (tests that provoke an error answer on purpose list what they expect).
import { expect, test as base, type Page } from "@playwright/test";

export const ALICE = "hw_demo_alice";
export const BOB = "hw_demo_bob";

export interface DemoRun {
  id: string;
  owner: string;
  symbol: string;
  timeframe: string;
  strategy: string;
  shared_with: string[];
}

export function apiUrl(): string {
  const url = process.env.HEWSTON_E2E_API;
  if (!url) throw new Error("HEWSTON_E2E_API is not set: the global setup did not start the stack");
  return url;
}

export function backendUrl(): string {
  return process.env.HEWSTON_E2E_BACKEND ?? "";
}

export async function runsOf(token: string): Promise<DemoRun[]> {
  const response = await fetch(`${apiUrl()}/api/v1/backtests?limit=200`, { headers: { Authorization: `Bearer ${token}` } });
  expect(response.ok).toBe(true);
  return ((await response.json()) as { items: DemoRun[] }).items;
}

/** The demo's minute-bar BTCUSD run that alice owns and shares with bob. */
export async function sharedDemoRun(): Promise<DemoRun> {
  const run = (await runsOf(ALICE)).find((r) => r.symbol === "BTCUSD" && r.shared_with.includes("bob"));
  if (!run) throw new Error("the demo data has no BTCUSD run shared with bob");
  return run;
}

export async function signIn(page: Page, token: string): Promise<void> {
  await page.goto("/");
  await page.getByLabel("API token").fill(token);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("heading", { name: "Runs", exact: true })).toBeVisible();
}

/** Signs in as alice and opens the shared demo run's page, its charts drawn. */
export async function openDemoRun(page: Page): Promise<DemoRun> {
  const run = await sharedDemoRun();
  await signIn(page, ALICE);
  await page.goto(`/runs/${run.id}`);
  await expect(page.getByTestId("run-charts")).toHaveAttribute("data-drawn", "true");
  return run;
}

interface Fixtures {
  allowedConsoleErrors: RegExp[];
  consoleErrors: string[];
}

/** Collect the page's console errors and uncaught exceptions into `errors`. */
export function watchConsole(page: Page, errors: string[], allowed: RegExp[] = []): void {
  page.on("console", (message) => {
    if (message.type() === "error" && !allowed.some((re) => re.test(message.text()))) errors.push(message.text());
  });
  page.on("pageerror", (error) => errors.push(error.message));
}

export const test = base.extend<Fixtures>({
  baseURL: async ({}, use) => use(apiUrl()),
  allowedConsoleErrors: [[], { option: true }],
  consoleErrors: [async ({ page, allowedConsoleErrors }, use) => {
    const errors: string[] = [];
    watchConsole(page, errors, allowedConsoleErrors);
    await use(errors);
    expect(errors, "the page logged console errors").toEqual([]);
  }, { auto: true }],
});

export { expect };
