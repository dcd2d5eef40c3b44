// A real Hewston stack for the browser tests: demo data in a temporary directory, then `hewston up` (backend,
// api and the shared-playback roles over the embedded broker) on free loopback ports, in its own process.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, openSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

export const REPO = resolve(import.meta.dirname, "..", "..");
const STARTUP_TIMEOUT_MS = 60_000;

export interface Stack {
  apiUrl: string;
  backendUrl: string;
  dataDir: string;
  process: ChildProcess;
}

export function hewstonBin(): string {
  const venv = join(REPO, ".venv", "bin", "hewston");
  if (!existsSync(venv)) throw new Error(`${venv} is missing: run \`make install\` first`);
  return venv;
}

export function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once("error", fail);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => done(port));
    });
  });
}

async function waitUntilUp(url: string, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + STARTUP_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`hewston up exited with ${child.exitCode} while starting`);
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`hewston up did not answer ${url} within ${STARTUP_TIMEOUT_MS / 1000} s`);
}

export async function startStack(extraEnv: Record<string, string> = {}): Promise<Stack> {
  const dataDir = mkdtempSync(join(tmpdir(), "hewston-e2e-"));
  const env: Record<string, string> = {
    ...(process.env as Record<string, string>),
    HEWSTON_DATA_DIR: join(dataDir, "data"),
    HEWSTON_LOG_LEVEL: "WARNING",
    HEWSTON_API_LOG_LEVEL: "WARNING",
    ...extraEnv,
  };
  delete env.REDIS_URL; // the embedded broker: nothing to install, nothing shared with other runs
  const demo = spawnSync(hewstonBin(), ["demo-data"], { cwd: REPO, env, encoding: "utf8", timeout: 120_000 });
  if (demo.status !== 0) throw new Error(`hewston demo-data failed: ${demo.stderr}`);
  const [backendPort, apiPort] = [await freePort(), await freePort()];
  const log = join(dataDir, "stack.log");
  const output = openSync(log, "a");
  const child = spawn(hewstonBin(), ["up", "--host", "127.0.0.1"], {
    cwd: REPO,
    env: { ...env, HEWSTON_PORT: String(backendPort), HEWSTON_API_PORT: String(apiPort) },
    stdio: ["ignore", output, output],
    detached: true,
  });
  const stack = { apiUrl: `http://127.0.0.1:${apiPort}`, backendUrl: `http://127.0.0.1:${backendPort}`, dataDir, process: child };
  try {
    await waitUntilUp(`${stack.apiUrl}/ready`, child);
  } catch (error) {
    const tail = readFileSync(log, "utf8").split("\n").slice(-40).join("\n");
    await stopStack(stack);
    throw new Error(`${String(error)}\n--- hewston up said:\n${tail}`);
  }
  return stack;
}

function signal(child: ChildProcess, name: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null) return;
  try {
    process.kill(-child.pid, name); // its own process group: nothing it started outlives it
  } catch {
    // already gone
  }
}

export async function stopStack(stack: Stack): Promise<void> {
  const exited = new Promise<void>((done) => {
    if (stack.process.exitCode !== null) done();
    else stack.process.once("exit", () => done());
  });
  signal(stack.process, "SIGTERM");
  const timer = setTimeout(() => signal(stack.process, "SIGKILL"), 10_000);
  await exited;
  clearTimeout(timer);
  rmSync(stack.dataDir, { recursive: true, force: true });
}
