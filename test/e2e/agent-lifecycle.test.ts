import { mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ManagementClient, type Workload } from "@inferencekey/sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REPO_ROOT, type PlatformProcess, startPlatformProcess } from "../support/platform-process";
import { isAlive, processesWith, waitFor } from "../support/processes";

/**
 * The worker agent on the local platform, end to end. Backends are the OpenAI-compatible TEST
 * DOUBLE `test/replicas/openai-replica.mjs` started as the workload's `command` (model weights
 * cannot be downloaded here); each test uses a unique model name as a marker to find its processes.
 */
const replicaScript = join(REPO_ROOT, "test/replicas/openai-replica.mjs");
const marker = `e2e-agent-${process.pid}`;
const recordDir = mkdtempSync(join(tmpdir(), "ik-replica-records-"));

function command(model: string, extra = ""): string {
  return `${process.execPath} ${replicaScript} serve ${model} ${extra}`.trim();
}

/** The pids the replicas recorded (REPLICA_RECORD_DIR), newest first, for one model. */
function replicaPids(model: string): number[] {
  return readdirSync(recordDir)
    .map((f) => JSON.parse(readFileSync(join(recordDir, f), "utf8")) as { pid: number; model: string })
    .filter((r) => r.model === model)
    .map((r) => r.pid);
}

describe("worker agent on the local platform", () => {
  let platform: PlatformProcess;
  let mgmt: ManagementClient;

  const readyCount = async (slug: string) => (await mgmt.get(slug)).status.readyReplicas;
  const status = (slug: string): Promise<Workload> => mgmt.get(slug);

  beforeAll(async () => {
    platform = await startPlatformProcess({ env: { REPLICA_RECORD_DIR: recordDir, INFERENCEKEY_BACKEND_ENV: "REPLICA_RECORD_DIR" } });
    mgmt = new ManagementClient({ token: platform.sdkToken, baseUrl: platform.baseUrl, project: "acme" });
  });

  afterAll(async () => {
    await platform?.stop();
    await waitFor("platform replicas to stop", () => processesWith(marker).length === 0, 20_000);
  });

  it("ensure -> replica ready within seconds; status shows it", async () => {
    const model = `${marker}/ready`;
    const started = Date.now();
    await mgmt.ensure({ name: "Ready", slug: "ready", model, backend: "vllm", command: command(model) });

    await waitFor("a ready replica", async () => (await readyCount("ready")) === 1 || undefined, 20_000);
    const elapsed = Date.now() - started;

    console.log(`ensure -> ready in ${elapsed} ms`);
    expect(elapsed).toBeLessThan(10_000);
    const workload = await status("ready");
    expect(workload.status.conditions.find((c) => c.type === "Ready")?.status).toBe("True");
    expect(workload.status.events.map((e) => e.type)).toContain("ReplicaReady");
  });

  it("kill -9 of the backend -> restarted and ready again", async () => {
    const model = `${marker}/crash`;
    await mgmt.ensure({ name: "Crash", slug: "crash", model, backend: "vllm", command: command(model) });
    await waitFor("ready", async () => (await readyCount("crash")) === 1 || undefined);
    const [pid] = replicaPids(model);
    expect(pid).toBeDefined();

    process.kill(pid as number, "SIGKILL");

    await waitFor("a restarted replica", async () => replicaPids(model).length >= 2 || undefined, 20_000);
    await waitFor("ready again", async () => {
      const replica = (await status("crash")).status.replicas[0];
      return replica?.phase === "ready" && replica.restarts >= 1 ? true : undefined;
    });
    expect((await status("crash")).status.events.some((e) => e.message.includes("restarted"))).toBe(true);
  });

  it("a spec change: the new generation is ready before the old one stops", async () => {
    const model = `${marker}/roll`;
    await mgmt.ensure({ name: "Roll", slug: "roll", model, backend: "vllm", command: command(model) });
    await waitFor("ready", async () => (await readyCount("roll")) === 1 || undefined);

    const changed = await mgmt.ensure({ name: "Roll", slug: "roll", model, backend: "vllm", command: command(model, "--chunk-delay-ms 1") });

    await waitFor("generation 2 alone", async () => {
      const replicas = (await status("roll")).status.replicas;
      return replicas.length === 1 && replicas[0]?.generation === changed.generation && replicas[0].phase === "ready" ? true : undefined;
    }, 30_000);
    const events = [...(await status("roll")).status.events].reverse();
    const newReady = events.findIndex((e) => e.type === "ReplicaReady" && e.generation === changed.generation);
    const oldStopping = events.findIndex((e) => e.type === "ReplicaStopping" && e.generation === changed.generation - 1);
    expect(newReady).toBeGreaterThanOrEqual(0);
    expect(oldStopping).toBeGreaterThan(newReady);
  });

  it("delete -> the processes are gone", async () => {
    const model = `${marker}/delete`;
    await mgmt.ensure({ name: "Delete", slug: "delete", model, backend: "vllm", command: command(model), executionPolicyConfig: { replicas: 2 } });
    await waitFor("2 ready", async () => (await readyCount("delete")) === 2 || undefined);
    const pids = replicaPids(model);

    await mgmt.delete("delete");

    await waitFor("processes gone", () => (pids.every((pid) => !isAlive(pid)) && processesWith(model).length === 0) || undefined, 30_000);
  });

  it("a command that does not exist -> replica failed with a readable reason; the platform stays up", async () => {
    await mgmt.ensure({ name: "Broken", slug: "broken", model: `${marker}/broken`, backend: "vllm", command: "no-such-backend-binary serve x" });

    const failed = await waitFor("a failed replica", async () => {
      const replica = (await status("broken")).status.replicas[0];
      return replica?.phase === "failed" ? replica : undefined;
    });

    expect(failed.exitCode).toBe(127);
    const event = (await status("broken")).status.events.find((e) => e.type === "ReplicaFailed");
    expect(event?.message).toMatch(/not found/);
    expect((await fetch(`${platform.baseUrl}/v1/health`)).status).toBe(200);
    await mgmt.delete("broken");
  });
});
