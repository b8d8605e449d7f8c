import { execFileSync } from "node:child_process";
import { accessSync, constants } from "node:fs";
import { join } from "node:path";
import { type Browser, chromium } from "playwright-core";
import { REPO_ROOT } from "./platform-process";

/** Where Debian's `chromium` package (installed by .ci/run) and other distributions put the browser. */
const CANDIDATES = [
  "/usr/bin/chromium",
  "/usr/bin/chromium-browser",
  "/usr/bin/google-chrome",
  "/usr/bin/google-chrome-stable",
];

/** The chromium executable to drive: INFERENCEKEY_CHROMIUM, else the first installed candidate. */
export function findChromium(): string | undefined {
  const named = process.env.INFERENCEKEY_CHROMIUM;
  for (const path of named ? [named] : CANDIDATES) {
    try {
      accessSync(path, constants.X_OK);
      return path;
    } catch {
      // not installed there
    }
  }
  return undefined;
}

/** Headless chromium; `--no-sandbox` because CI runs as root, where chromium's sandbox refuses to start. */
export function launchChromium(executablePath: string): Promise<Browser> {
  return chromium.launch({
    executablePath,
    headless: true,
    args: ["--no-sandbox", "--disable-dev-shm-usage"],
  });
}

/** Builds the console unless its build matches its sources (what npm install and npm start do). */
export function buildConsoleIfStale(): void {
  execFileSync(process.execPath, [join(REPO_ROOT, "packages/console/scripts/build.mjs"), "--if-stale"], {
    stdio: "inherit",
  });
}
