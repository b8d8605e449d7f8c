import { spawn } from "node:child_process";
import { readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import type { ConsoleAssetReader } from "@inferencekey/core";

/** The console workspace (packages/console): its build lands in dist/. */
export const CONSOLE_DIR = resolve(import.meta.dirname, "../../console");

/** Reads the built console's files; only paths the site handler vetted (no `..`, known extensions) reach here. */
export function consoleAssetReader(distDir = join(CONSOLE_DIR, "dist")): ConsoleAssetReader {
  return async (relativePath) => {
    try {
      return new Uint8Array(await readFile(join(distDir, relativePath)));
    } catch {
      return undefined;
    }
  };
}

/**
 * Builds the console when its sources changed since the last build (`build.mjs --if-stale`: a digest
 * comparison, no build when fresh), so `npm start` after a pull or an edit serves the current
 * console. A failed build is reported, never fatal: the API and endpoints work without it.
 */
export function ensureConsoleBuilt(log: (line: string) => void): Promise<void> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [join(CONSOLE_DIR, "scripts/build.mjs"), "--if-stale"], {
      cwd: CONSOLE_DIR,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stderr.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.once("error", (error) => {
      log(`console: could not run its build (${error.message}); /console/ answers 503 until it is built`);
      done();
    });
    child.once("close", (code) => {
      if (code !== 0)
        log(
          `console: the build failed (exit ${code}); /console/ serves the previous build, if any:\n${output.slice(-2000)}`,
        );
      else if (output.trim() !== "") log(`console: ${output.trim()}`);
      done();
    });
  });
}
