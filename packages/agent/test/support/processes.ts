import { randomBytes } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { shellQuote } from "../../src";
import { freePort } from "../../../../test/support/ports";

export { freePort };

/** The strict OpenAI-compatible test double used as a backend command. */
export const REPLICA_SCRIPT = resolve(import.meta.dirname, "../../../../test/replicas/openai-replica.mjs");

/** A name unique to one test: used as model name, so every process of the test carries it in its cmdline. */
export function uniqueMarker(label: string): string {
  return `ikt-${label}-${process.pid}-${randomBytes(4).toString("hex")}`;
}

/** `node openai-replica.mjs serve <model> [flags]` as a shell command. */
export function replicaCommand(model: string, flags = ""): string {
  return `${shellQuote(process.execPath)} ${shellQuote(REPLICA_SCRIPT)} serve ${model}${flags ? ` ${flags}` : ""}`;
}

/** Living processes whose command line contains the marker (zombies have an empty cmdline). */
export function processesWith(marker: string): { pid: number; cmdline: string }[] {
  const found: { pid: number; cmdline: string }[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, "utf8").replaceAll("\0", " ").trim();
      if (cmdline.includes(marker)) found.push({ pid: Number(entry), cmdline });
    } catch {
      // exited while scanning
    }
  }
  return found;
}

/**
 * Asserts that no process of the test remains (after up to `timeoutMs` for stops in flight). Any
 * survivor is killed before throwing, so one failing test cannot leak into the next.
 */
export async function expectNoProcessLeft(marker: string, timeoutMs = 3_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let left = processesWith(marker);
  while (left.length > 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
    left = processesWith(marker);
  }
  if (left.length === 0) return;
  for (const { pid } of left) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
  throw new Error(`processes left behind:\n${left.map((p) => `  ${p.pid} ${p.cmdline}`).join("\n")}`);
}

export async function waitFor<T>(
  what: string,
  check: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs = 10_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
