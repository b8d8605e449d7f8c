import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { generateSecret } from "@inferencekey/core";
import { afterEach, describe, expect, it } from "vitest";
import { HELP, main, parseCli } from "../src/cli";
import { testAssignment } from "./support/assignments";
import { FakeControlPlane } from "./support/fake-control-plane";
import { expectNoProcessLeft, freePort, uniqueMarker, waitFor } from "./support/processes";

const BIN = resolve(import.meta.dirname, "../bin/inferencekey-agent.mjs");
const TOKEN = generateSecret("worker");

describe("parseCli", () => {
  it("takes flags, with env fallbacks", () => {
    // Act
    const fromEnv = parseCli([], {
      INFERENCEKEY_WORKER_TOKEN: TOKEN,
      INFERENCEKEY_BASE_URL: "https://ik.example.com",
    });
    const fromFlags = parseCli(
      [
        "--token",
        TOKEN,
        "--base-url",
        "http://10.0.0.1:8787",
        "--state-dir",
        "/var/lib/ik",
        "--advertise-host",
        "10.0.0.9",
      ],
      { INFERENCEKEY_BASE_URL: "https://ignored.example.com" },
    );
    // Assess
    expect(fromEnv).toEqual({
      kind: "run",
      config: {
        token: TOKEN,
        baseUrl: "https://ik.example.com",
        stateDir: join(homedir(), ".inferencekey", "agent"),
      },
    });
    expect(fromFlags).toEqual({
      kind: "run",
      config: {
        token: TOKEN,
        baseUrl: "http://10.0.0.1:8787",
        stateDir: "/var/lib/ik",
        advertiseHost: "10.0.0.9",
      },
    });
  });

  it.each([
    ["no token", [], {}, "no worker token: pass --token ik_wrk_... or set INFERENCEKEY_WORKER_TOKEN"],
    [
      "a control token",
      ["--token", generateSecret("sdk")],
      {},
      "that is a control token (ik_sdk_), not a worker token",
    ],
    [
      "a data key",
      ["--token", generateSecret("live")],
      {},
      "that is a data key (ik_live_), not a worker token",
    ],
    [
      "a short token",
      ["--token", "ik_wrk_abc"],
      {},
      "the worker token is malformed: it is 10 characters long, not 37 (ik_wrk_ followed by 30 letters and digits)",
    ],
    [
      "a mistyped token",
      ["--token", `${TOKEN.slice(0, -1)}${TOKEN.endsWith("A") ? "B" : "A"}`],
      {},
      "the worker token is malformed: its checksum does not match",
    ],
    [
      "no URL",
      ["--token", TOKEN],
      {},
      "no control plane URL: pass --base-url https://... or set INFERENCEKEY_BASE_URL",
    ],
    ["a bad URL", ["--token", TOKEN, "--base-url", "ik.example.com"], {}, "is not an http(s) URL"],
    ["an unknown flag", ["--tokn", TOKEN], {}, "Unknown option '--tokn'"],
  ] as const)("refuses %s with a clear message", (_name, argv, env, expected) => {
    const parsed = parseCli([...argv], env);
    expect(parsed.kind).toBe("error");
    expect(parsed.kind === "error" && parsed.message).toContain(expected);
  });

  it("never echoes a malformed token", () => {
    const parsed = parseCli(["--token", "ik_wrk_secretpart"], {});
    expect(JSON.stringify(parsed)).not.toContain("secretpart");
  });

  it("--help wins over everything", () => {
    expect(parseCli(["--help"], {})).toEqual({ kind: "help" });
    expect(parseCli(["-h", "--token", "x"], {})).toEqual({ kind: "help" });
  });
});

describe("main", () => {
  it("exits 2 with the problem and a pointer to --help on bad usage", async () => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await main([], { env: {}, out: (l) => out.push(l), err: (l) => err.push(l) });
    expect(code).toBe(2);
    expect(err).toEqual([
      expect.stringContaining("inferencekey-agent: no worker token"),
      "run inferencekey-agent --help for usage",
    ]);
  });
});

describe("bin/inferencekey-agent.mjs", () => {
  let plane: FakeControlPlane | undefined;
  let stateDir: string | undefined;
  const marker = uniqueMarker("cli");

  afterEach(async () => {
    await plane?.close();
    if (stateDir !== undefined) rmSync(stateDir, { recursive: true, force: true });
    await expectNoProcessLeft(marker);
  });

  function run(args: string[], env: NodeJS.ProcessEnv = {}) {
    const child = spawn(process.execPath, [BIN, ...args], {
      env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const output = { stdout: "", stderr: "" };
    child.stdout.on("data", (c: Buffer) => {
      output.stdout += c.toString();
    });
    child.stderr.on("data", (c: Buffer) => {
      output.stderr += c.toString();
    });
    const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
    return { child, output, exited };
  }

  it("--help prints the usage under Node 22", async () => {
    const { output, exited } = run(["--help"]);
    expect(await exited).toBe(0);
    expect(output.stdout.trim()).toBe(HELP);
  });

  it("exits 3 with a clear message when the control plane answers 401", async () => {
    // Prepare
    plane = await FakeControlPlane.start();
    stateDir = mkdtempSync(join(tmpdir(), "ik-cli-"));
    // Act
    const { output, exited } = run(
      ["--base-url", plane.baseUrl, "--state-dir", stateDir, "--advertise-host", "127.0.0.1"],
      {
        INFERENCEKEY_WORKER_TOKEN: TOKEN,
      },
    );
    // Assess
    expect(await exited).toBe(3);
    expect(output.stderr).toContain(
      "inferencekey-agent: worker token rejected: wrong or revoked (was the worker deregistered?)",
    );
    expect(output.stdout + output.stderr).not.toContain(TOKEN);
  });

  it("on SIGTERM stops its replicas gracefully and exits 0", async () => {
    // Prepare
    plane = await FakeControlPlane.start();
    stateDir = mkdtempSync(join(tmpdir(), "ik-cli-"));
    const assignment = testAssignment(marker, await freePort());
    plane.assignments = [assignment];
    const { child, output, exited } = run(
      ["--base-url", plane.baseUrl, "--state-dir", stateDir, "--advertise-host", "127.0.0.1"],
      {
        INFERENCEKEY_WORKER_TOKEN: plane.token,
      },
    );
    await waitFor("ready report", () => plane?.lastReport(assignment.replica_id)?.state === "ready", 15_000);
    // Act
    child.kill("SIGTERM");
    // Assess
    expect(await exited).toBe(0);
    expect(output.stdout).toContain("SIGTERM: stopping replicas gracefully");
    expect(output.stdout).toContain("agent stopped; its replicas are stopped");
    expect(output.stdout).not.toContain(assignment.secret);
  });
});
