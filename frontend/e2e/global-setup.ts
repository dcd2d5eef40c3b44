// Starts one stack for the whole run and tells the tests where it is; the returned function stops it.
import type { FullConfig } from "@playwright/test";
import { startStack, stopStack } from "./stack";

export default async function globalSetup(_config: FullConfig): Promise<() => Promise<void>> {
  const stack = await startStack();
  process.env.HEWSTON_E2E_API = stack.apiUrl;
  process.env.HEWSTON_E2E_BACKEND = stack.backendUrl;
  return () => stopStack(stack);
}
