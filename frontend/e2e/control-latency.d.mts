import type { Page } from "@playwright/test";

export function controlLatency(page: Page, name: string, state: string, timeoutMs?: number): Promise<number | null>;

declare global {
  interface Window {
    __hewstonControl?: Promise<number | null>;
  }
}
