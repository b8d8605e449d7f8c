import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

export const REPO_ROOT = resolve(import.meta.dirname, "../..");

export interface PlatformProcess {
  child: ChildProcess;
  home: string;
  baseUrl: string;
  sdkToken: string;
  /** Everything the process printed (stdout and stderr), for log scans. */
  output(): string;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/**
 * Starts `npm start`'s entry point as a real child process (Node 22 via tsx) on a free port with
 * its own state directory, and waits until it has written dev.env with the URL it listens on.
 */
export async function startPlatformProcess(options: { home?: string; env?: Record<string, string> } = {}): Promise<PlatformProcess> {
  const home = options.home ?? mkdtempSync(join(tmpdir(), "ik-home-"));
  const devEnv = join(home, "dev.env");
  const { child, exited, output: captured } = spawnPlatform(home, options.env);
  let output = "";
  captured((chunk) => {
    output += chunk;
  });

  const deadline = Date.now() + 30_000;
  for (;;) {
    if (/InferenceKey is running at (http:\/\/\S+)/.test(output)) break;
    if (child.exitCode !== null) throw new Error(`platform exited early (${child.exitCode}):\n${output}`);
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`platform did not start within 30 s:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  const env = Object.fromEntries(
    [...readFileSync(devEnv, "utf8").matchAll(/^export (\w+)=(.*)$/gm)].map((m) => [m[1], m[2]]),
  ) as Record<string, string>;
  return {
    child,
    home,
    baseUrl: env.INFERENCEKEY_BASE_URL as string,
    sdkToken: env.INFERENCEKEY_SDK_TOKEN as string,
    output: () => output,
    stop: async (signal: NodeJS.Signals = "SIGTERM") => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

function spawnPlatform(home: string, env: Record<string, string> = {}) {
  const child = spawn(
    process.execPath,
    ["--disable-warning=ExperimentalWarning", "--import", "tsx", join(REPO_ROOT, "packages/local/src/main.ts")],
    { cwd: REPO_ROOT, env: { ...process.env, PORT: "0", INFERENCEKEY_HOME: home, ...env }, stdio: ["ignore", "pipe", "pipe"], detached: false },
  );
  const exited = new Promise<number | null>((resolveExit) => child.once("exit", (code) => resolveExit(code)));
  const output = (onChunk: (chunk: string) => void) => {
    child.stdout?.on("data", (chunk: Buffer) => onChunk(chunk.toString()));
    child.stderr?.on("data", (chunk: Buffer) => onChunk(chunk.toString()));
  };
  return { child, exited, output };
}

/**
 * Runs `npm start`'s entry point on `home` and expects it to exit by itself (a refused start):
 * the exit code and everything it printed. Killed after `timeoutMs` if it started instead.
 */
export async function runPlatformToExit(home: string, timeoutMs = 30_000): Promise<{ code: number | null; output: string }> {
  const { child, exited, output: captured } = spawnPlatform(home);
  let output = "";
  captured((chunk) => {
    output += chunk;
  });
  const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
  const closed = new Promise<void>((resolveClose) => child.once("close", () => resolveClose()));
  const code = await exited;
  await closed; // every byte printed has been read
  clearTimeout(timer);
  return { code, output };
}
