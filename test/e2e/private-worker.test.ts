import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { replicaSecret } from "@inferencekey/core";
import { ManagementClient } from "@inferencekey/sdk";
import { afterAll, describe, expect, it } from "vitest";
import { REPO_ROOT, type PlatformProcess, startPlatformProcess } from "../support/platform-process";
import { processesWith, waitFor } from "../support/processes";
import { freePort } from "../support/ports";
import { frontCertificateSha256, frontGet } from "../support/replica-front";

/**
 * A private worker: registered through the SDK, its agent started as a separate process with the
 * worker token, a workload pinned to it with `replicas: 2`. Backends are the TEST DOUBLE
 * `test/replicas/openai-replica.mjs` started as the workload's command.
 */
const marker = `e2e-private-${process.pid}`;
const agentBin = join(REPO_ROOT, "packages/agent/bin/inferencekey-agent.mjs");

function startAgent(baseUrl: string, token: string, stateDir: string): { child: ChildProcess; output: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, [agentBin, "--base-url", baseUrl, "--state-dir", stateDir, "--advertise-host", "127.0.0.1"], {
    env: { ...process.env, INFERENCEKEY_WORKER_TOKEN: token },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout?.on("data", (c: Buffer) => {
    output += c.toString();
  });
  child.stderr?.on("data", (c: Buffer) => {
    output += c.toString();
  });
  return { child, output: () => output, exited: new Promise((r) => child.once("exit", (code) => r(code))) };
}

describe("private worker with its own agent process", () => {
  const cleanups: (() => Promise<unknown>)[] = [];
  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
    await waitFor("no replica left", () => processesWith(marker).length === 0 || undefined, 20_000);
  });

  it("runs two replicas on distinct ports; they keep answering while the control plane is down for 30 s; the agent reconnects", async () => {
    // Prepare: the platform on a fixed port (so it can come back on it), a worker, its agent.
    const port = String(await freePort());
    let platform: PlatformProcess = await startPlatformProcess({ env: { PORT: port } });
    cleanups.push(() => platform.stop());
    const mgmt = new ManagementClient({ token: platform.sdkToken, baseUrl: platform.baseUrl, project: "acme" });
    const worker = await mgmt.workers.register({ name: "gpu-box-1", addresses: ["127.0.0.1"] });
    const agent = startAgent(platform.baseUrl, worker.token, join(platform.home, "private-agent"));
    cleanups.push(async () => {
      agent.child.kill("SIGTERM");
      await agent.exited;
    });
    await waitFor("worker online", async () => (await mgmt.workers.list()).find((w) => w.id === worker.id)?.status === "online" || undefined);
    const model = `${marker}/pinned`;

    // Act 1: a workload pinned to the worker with two replicas.
    await mgmt.ensure({
      name: "Pinned",
      slug: "pinned",
      model,
      backend: "vllm",
      command: `${process.execPath} ${join(REPO_ROOT, "test/replicas/openai-replica.mjs")} serve ${model}`,
      workerId: worker.id,
      executionPolicy: "fixed",
      executionPolicyConfig: { replicas: 2 },
    });
    await waitFor("2 ready replicas", async () => (await mgmt.get("pinned")).status.readyReplicas === 2 || undefined, 30_000);

    // Assess 1: distinct ports on the private worker; the worker lists its GPUs (none here) and replicas.
    const listed = (await mgmt.workers.list()).find((w) => w.id === worker.id);
    expect(listed?.replicas).toHaveLength(2);
    expect(new Set(listed?.replicas.map((r) => r.port)).size).toBe(2);
    expect(listed?.gpus).toEqual([]);
    const serverSecret = readFileSync(join(platform.home, "server-secret"), "utf8").trim();
    // Through each replica's front (TLS, pinned to the certificate the agent keeps in its state directory).
    const pinned = frontCertificateSha256(join(platform.home, "private-agent"));
    const endpoints = listed?.replicas.map((r) => ({ port: r.port, secret: replicaSecret(serverSecret, r.id) })) ?? [];
    const answers = async () => Promise.all(endpoints.map((e) => frontGet(e.port, "/v1/models", e.secret, pinned)));
    expect(await answers()).toEqual([200, 200]);

    // Act 2: stop the control plane for 30 s.
    await platform.stop("SIGKILL");
    const downSince = Date.now();
    const during: number[][] = [];
    while (Date.now() - downSince < 30_000) {
      during.push(await answers());
      await new Promise((r) => setTimeout(r, 3000));
    }
    platform = await startPlatformProcess({ home: platform.home, env: { PORT: port } });

    // Assess 2: the replicas answered all along, and the agent is back online with them.
    expect(during.length).toBeGreaterThanOrEqual(9);
    expect(during.flat().every((status) => status === 200)).toBe(true);
    const mgmt2 = new ManagementClient({ token: platform.sdkToken, baseUrl: platform.baseUrl, project: "acme" });
    await waitFor("worker online again", async () => (await mgmt2.workers.list()).find((w) => w.id === worker.id)?.status === "online" || undefined, 30_000);
    await waitFor("2 ready again", async () => (await mgmt2.get("pinned")).status.readyReplicas === 2 || undefined, 15_000);
    // The very same processes: nothing was replaced while the control plane was away.
    expect((await mgmt2.workers.list()).find((w) => w.id === worker.id)?.replicas.map((r) => r.id).sort()).toEqual(listed?.replicas.map((r) => r.id).sort());
    expect(await answers()).toEqual([200, 200]);
    await mgmt2.delete("pinned");
    await waitFor("replicas stopped", () => processesWith(model).length === 0 || undefined, 30_000);
  }, 120_000);

  it("an agent with a wrong or revoked token exits with a clear message", async () => {
    const platform = await startPlatformProcess();
    cleanups.push(() => platform.stop());
    const mgmt = new ManagementClient({ token: platform.sdkToken, baseUrl: platform.baseUrl, project: "acme" });
    const worker = await mgmt.workers.register({ name: "to-revoke" });
    await mgmt.workers.deregister(worker.id);

    const revoked = startAgent(platform.baseUrl, worker.token, join(platform.home, "revoked-agent"));
    const wrong = startAgent(platform.baseUrl, "ik_wrk_thisisnotatokenatallxxxxxxxxxx", join(platform.home, "wrong-agent"));

    expect(await revoked.exited).toBe(3);
    expect(revoked.output()).toMatch(/worker token rejected/i);
    expect(await wrong.exited).not.toBe(0);
    expect(wrong.output()).toMatch(/token/i);
    expect(wrong.output()).not.toContain("thisisnotatoken");
  }, 60_000);
});
