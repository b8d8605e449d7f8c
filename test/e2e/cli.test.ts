import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { type PlatformProcess, REPO_ROOT, startPlatformProcess } from "../support/platform-process";
import { processesWith } from "../support/processes";

/**
 * The `inferencekey` CLI run as a process (packages/cli/bin/inferencekey.mjs) against the local
 * platform (npm start's entry point as a process). The workloads are the guide's specs as pinned in
 * test/vectors/specs.json, one file each, with the OpenAI-compatible TEST DOUBLE
 * (test/replicas/openai-replica.mjs) as their command, since model weights cannot be downloaded here.
 */
const BIN = join(REPO_ROOT, "packages/cli/bin/inferencekey.mjs");
const marker = `e2e-cli-${process.pid}`;

interface Vector {
  wire: Record<string, unknown>;
}

/** One spec per slug of the guide, on shared capacity (the pinned-worker variants need a real box). */
function guideWorkloads(): Record<string, unknown>[] {
  const vectors = (JSON.parse(readFileSync(join(REPO_ROOT, "test/vectors/specs.json"), "utf8")) as { vectors: Vector[] }).vectors;
  const bySlug = new Map<string, Record<string, unknown>>();
  for (const { wire } of vectors) {
    if (wire.slug === "..." || wire.worker_id !== undefined || bySlug.has(String(wire.slug))) continue;
    const policy = wire.execution_policy_config as { workers?: { source?: string } } | undefined;
    if (policy?.workers?.source === "private") continue;
    bySlug.set(String(wire.slug), {
      ...wire,
      command: `${process.execPath} ${join(REPO_ROOT, "test/replicas/openai-replica.mjs")} serve ${String(wire.model)} --marker ${marker}`,
    });
  }
  return [...bySlug.values()];
}

describe("the inferencekey CLI against the local platform", () => {
  let platform: PlatformProcess;
  let dir: string;
  let home: string;
  const specs = guideWorkloads();

  beforeAll(async () => {
    platform = await startPlatformProcess();
    dir = mkdtempSync(join(tmpdir(), "ik-cli-specs-"));
    home = mkdtempSync(join(tmpdir(), "ik-cli-home-"));
    for (const spec of specs) writeFileSync(join(dir, `${String(spec.slug)}.yaml`), stringify(spec));
  }, 60_000);

  afterAll(async () => {
    await platform?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Runs the CLI; the environment carries the platform's URL and admin token unless `env` says otherwise. */
  function cli(args: string[], options: { env?: Record<string, string | undefined>; stdin?: string } = {}) {
    return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, [BIN, ...args], {
        env: {
          ...process.env,
          HOME: home,
          XDG_CONFIG_HOME: join(home, ".config"),
          INFERENCEKEY_BASE_URL: platform.baseUrl,
          INFERENCEKEY_SDK_TOKEN: platform.sdkToken,
          INFERENCEKEY_PROJECT: "acme",
          ...options.env,
        },
        stdio: ["pipe", "pipe", "pipe"],
      });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
      child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
      child.stdin.end(options.stdin ?? "");
      child.once("close", (code) => resolve({ code, stdout, stderr }));
    });
  }

  const listed = async () => JSON.parse((await cli(["list", "-o", "json"])).stdout) as { slug: string; generation: number; managedBy?: string }[];

  it("applies a directory of the guide's workloads, then re-applies it with nothing changed", async () => {
    // Act
    const first = await cli(["apply", "-f", dir]);
    const again = await cli(["apply", "-f", dir]);

    // Assess
    expect(specs.length).toBeGreaterThanOrEqual(6);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toContain(`applied ${specs.length} workload(s): ${specs.length} created, 0 changed, 0 unchanged`);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain(`${specs.length} unchanged`);
    const workloads = await listed();
    expect(workloads.map((w) => w.slug).sort()).toEqual(specs.map((s) => String(s.slug)).sort());
    expect(workloads.every((w) => w.generation === 1 && w.managedBy === "cli")).toBe(true);
  }, 60_000);

  it("shows the server's diff for a changed field and applies it; --dry-run and --on-drift fail change nothing", async () => {
    // Prepare
    const file = join(dir, "support-bot.yaml");
    const original = readFileSync(file, "utf8");
    writeFileSync(file, original.replace("name: Support bot", "name: Support bot v2"));

    // Act
    const dry = await cli(["apply", "-f", dir, "--dry-run"]);
    const refused = await cli(["apply", "-f", dir, "--on-drift", "fail"]);
    const afterRefusal = await listed();
    const applied = await cli(["apply", "-f", dir]);

    // Assess
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain('~ acme/support-bot\n    name: "Support bot" -> "Support bot v2"');
    expect(dry.stdout).toContain("dry run: nothing was applied");
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain("acme/support-bot");
    expect(refused.stderr).toContain("differs from what is stored: name");
    expect(afterRefusal.find((w) => w.slug === "support-bot")?.generation).toBe(1);
    expect(applied.code, applied.stderr).toBe(0);
    expect(applied.stdout).toContain("changed acme/support-bot (generation 2)");
  }, 60_000);

  it("refuses invalid files before applying any, pointing at file:line:column and the field", async () => {
    // Prepare: a good file and a bad one (an unquoted version and a camelCase field).
    const bad = mkdtempSync(join(tmpdir(), "ik-cli-bad-"));
    writeFileSync(join(bad, "a-good.yaml"), stringify({ name: "New", slug: "brand-new", model: "m/m", backend: "vllm" }));
    writeFileSync(join(bad, "b-bad.yaml"), "name: Bad\nslug: bad\nmodel: m/m\nbackend: vllm\nvllm_version: 0.10\ntaskType: text2text\n");

    // Act
    const result = await cli(["apply", "-f", bad]);

    // Assess
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`${join(bad, "b-bad.yaml")}:5:15: vllm_version: vllm_version must be a string, got a number (YAML reads 0.10 as number 0.1); quote it: "0.10"`);
    expect(result.stderr).toContain(`${join(bad, "b-bad.yaml")}:6:11: taskType: unknown field "taskType"; did you mean "task_type"?`);
    expect(result.stderr).not.toMatch(/\n\s+at /); // no stack trace without --debug
    expect((await listed()).some((w) => w.slug === "brand-new")).toBe(false);
  });

  it("prunes only what it applied, after listing it, and asks for --yes without a terminal", async () => {
    // Prepare: one workload the CLI did not apply, and one file removed.
    await fetch(`${platform.baseUrl}/v1/projects/acme/workloads/hand-made`, {
      method: "PUT",
      headers: { authorization: `Bearer ${platform.sdkToken}`, "content-type": "application/json" },
      body: JSON.stringify({ name: "Hand made", slug: "hand-made", model: "m/m", backend: "vllm", execution_policy_config: { replicas: 0 } }),
    });
    rmSync(join(dir, "voice-over.yaml"));

    // Act
    const unconfirmed = await cli(["apply", "-f", dir, "--prune"]);
    const keptWithoutYes = (await listed()).map((w) => w.slug);
    const confirmed = await cli(["apply", "-f", dir, "--prune", "--yes"]);

    // Assess
    expect(unconfirmed.code).toBe(1);
    expect(unconfirmed.stdout).toContain("- acme/voice-over (applied earlier, no longer declared: would be deleted)");
    expect(unconfirmed.stderr).toContain("pass --yes");
    expect(keptWithoutYes).toContain("voice-over");
    expect(confirmed.code, confirmed.stderr).toBe(0);
    expect(confirmed.stdout).toContain("deleted acme/voice-over");
    const slugs = (await listed()).map((w) => w.slug);
    expect(slugs).not.toContain("voice-over");
    expect(slugs).toContain("hand-made");
  }, 60_000);

  it("watches a workload until it is ready, and shows its events", async () => {
    const watched = await cli(["status", "support-bot", "--until-ready", "--timeout", "60"]);
    expect(watched.code, watched.stderr).toBe(0);
    expect(watched.stdout).toMatch(/acme\/support-bot {2}generation 2 {2}1\/1 ready/);
    expect(watched.stdout).toMatch(/slot 0 {2}ready/);
    const events = await cli(["events", "support-bot", "-o", "json"]);
    const types = (JSON.parse(events.stdout) as { type: string }[]).map((e) => e.type);
    expect(types[0]).toBe("Created");
    expect(types).toContain("ReplicaReady");
  }, 90_000);

  it("creates a key (printed once) that the data plane takes, then revokes it", async () => {
    // Act
    const created = await cli(["keys", "create", "support-bot", "--name", "cli", "--max-concurrent", "4"]);
    const key = created.stdout.trim();
    const call = () =>
      fetch(`${platform.baseUrl}/endpoint/acme/support-bot/v1/chat/completions`, {
        method: "POST",
        headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
        body: JSON.stringify({ model: "meta-llama/Llama-3.1-8B-Instruct", messages: [{ role: "user", content: "hi" }] }),
      });
    const before = await call();
    const keys = JSON.parse((await cli(["keys", "list", "support-bot", "-o", "json"])).stdout) as { id: string; name: string; maxConcurrentRequests?: number }[];
    const id = keys.find((k) => k.name === "cli")?.id ?? "";
    const revoked = await cli(["keys", "revoke", "support-bot", id]);
    await new Promise((resolve) => setTimeout(resolve, 5_500)); // the gateway's revocation delay
    const after = await call();

    // Assess
    expect(created.code).toBe(0);
    expect(key).toMatch(/^ik_live_[0-9A-Za-z]{30}$/);
    expect(created.stderr).toContain("shown only this once");
    expect(keys.find((k) => k.name === "cli")?.maxConcurrentRequests).toBe(4);
    expect(before.status).toBe(200);
    expect(revoked.code).toBe(0);
    expect(after.status).toBe(401);
  }, 60_000);

  it("registers a worker (the agent command printed), lists the GPU catalog, and logs in to a 0600 profile", async () => {
    const worker = await cli(["workers", "register", "--name", "gpu-box", "--address", "10.0.3.0/24", "-o", "json"]);
    expect(worker.code, worker.stderr).toBe(0);
    expect(JSON.parse(worker.stdout)).toMatchObject({ name: "gpu-box", addresses: ["10.0.3.0/24"], token: expect.stringMatching(/^ik_wrk_[0-9A-Za-z]{30}$/) });
    const plain = await cli(["workers", "register", "--name", "gpu-box-2"]);
    expect(plain.stdout).toMatch(/--token ik_wrk_[0-9A-Za-z]{30}/);
    const gpus = await cli(["catalog", "gpus", "-o", "json"]);
    expect((JSON.parse(gpus.stdout) as { displayName: string }[]).map((g) => g.displayName)).toContain("NVIDIA L4");

    const login = await cli(["login", "--base-url", platform.baseUrl, "--project", "acme"], { stdin: platform.sdkToken, env: { INFERENCEKEY_SDK_TOKEN: undefined } });
    expect(login.code, login.stderr).toBe(0);
    const profile = join(home, ".config/inferencekey/config.toml");
    expect((await import("node:fs")).statSync(profile).mode & 0o777).toBe(0o600);
    const fromProfile = await cli(["list", "-o", "json"], { env: { INFERENCEKEY_SDK_TOKEN: undefined, INFERENCEKEY_BASE_URL: undefined, INFERENCEKEY_PROJECT: undefined } });
    expect(fromProfile.code, fromProfile.stderr).toBe(0);
  }, 60_000);

  it("exits 3 on a refused token and 4 when the platform cannot be reached, with one readable line", async () => {
    const refused = await cli(["list"], { env: { INFERENCEKEY_SDK_TOKEN: "ik_sdk_AAAAAAAAAAAAAAAAAAAAAAAA000000" } });
    expect(refused.code).toBe(3);
    expect(refused.stderr.split("\n")[0]).toMatch(/^error: /);
    const unreachable = await cli(["list"], { env: { INFERENCEKEY_BASE_URL: "http://127.0.0.1:9" } });
    expect(unreachable.code).toBe(4);
    expect(unreachable.stderr).not.toMatch(/\n\s+at /);
    expect(processesWith(marker).length).toBeGreaterThan(0); // the platform is still serving its replicas
  }, 60_000);

  it("packed, runs from an empty directory through npm exec --package=<tarball>", async () => {
    // Prepare: npm pack builds dist/ (prepack) and the tarball; the directory it runs in is empty.
    const out = mkdtempSync(join(tmpdir(), "ik-cli-pack-"));
    const empty = mkdtempSync(join(tmpdir(), "ik-cli-empty-"));
    const npm = (args: string[], cwd: string) =>
      new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
        const child = spawn("npm", args, {
          cwd,
          env: { ...process.env, INFERENCEKEY_BASE_URL: platform.baseUrl, INFERENCEKEY_SDK_TOKEN: platform.sdkToken, INFERENCEKEY_PROJECT: "acme" },
          stdio: ["ignore", "pipe", "pipe"],
        });
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
        child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
        child.once("close", (code) => resolve({ code, stdout, stderr }));
      });
    const packed = await npm(["pack", "-w", "packages/cli", "--pack-destination", out, "--silent"], REPO_ROOT);
    rmSync(join(REPO_ROOT, "packages/cli/dist"), { recursive: true, force: true }); // the repository runs src/
    const tarball = join(out, packed.stdout.trim().split("\n").at(-1) ?? "");

    // Act
    const listed = await npm(["exec", "--yes", `--package=${tarball}`, "--", "inferencekey", "list", "-o", "json"], empty);

    // Assess
    expect(packed.code, packed.stderr).toBe(0);
    expect(listed.code, listed.stderr).toBe(0);
    expect((JSON.parse(listed.stdout) as { slug: string }[]).map((w) => w.slug)).toContain("support-bot");
  }, 180_000);
});
