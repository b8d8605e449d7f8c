import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { HELP } from "../src/cli";

const SCRIPT = resolve(import.meta.dirname, "../scripts/pack-node-agent.mjs");
const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function pack(): { file: string; key: string; sha256: string } {
  const out = mkdtempSync(join(tmpdir(), "ik-pack-out-"));
  dirs.push(out);
  return JSON.parse(execFileSync(process.execPath, [SCRIPT, out], { encoding: "utf8" })) as { file: string; key: string; sha256: string };
}

describe("the packed node agent", () => {
  it("runs with Node alone, outside the repository, and packs to the same bytes every time", () => {
    // Prepare
    const first = pack();
    const again = pack();
    const unpacked = mkdtempSync(join(tmpdir(), "ik-pack-run-"));
    dirs.push(unpacked);
    execFileSync("tar", ["-xzf", first.file, "-C", unpacked]);

    // Act: what the node's start phase runs, with no node_modules anywhere near it.
    const help = spawnSync(process.execPath, [join(unpacked, "package/bin/inferencekey-agent.mjs"), "--help"], { cwd: unpacked, encoding: "utf8" });
    const noToken = spawnSync(process.execPath, [join(unpacked, "package/bin/inferencekey-agent.mjs")], { cwd: unpacked, encoding: "utf8", env: { PATH: process.env.PATH } });

    // Assess
    expect(help.status).toBe(0);
    expect(help.stdout.trim()).toBe(HELP);
    expect(noToken.status).toBe(2);
    expect(noToken.stderr).toContain("no worker token");
    expect(first.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(again.sha256).toBe(first.sha256);
    expect(first.key).toBe(`agent/inferencekey-agent-0.1.0-${first.sha256.slice(0, 12)}.tgz`);
  }, 60_000);
});
