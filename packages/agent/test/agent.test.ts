import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  agentInstance,
  createReplicaCgroup,
  ownCgroupDir,
  removeReplicaCgroup,
  replicaCgroupDir,
  type AgentHandle,
  type AgentOptions,
  isAlive,
  readProcStat,
  retryDelayMs,
  STATE_FILE_NAME,
  startAgent,
  WorkerTokenRejectedError,
} from "../src";
import { testAssignment } from "./support/assignments";
import { frontRequest } from "./support/front-client";
import { FakeControlPlane } from "./support/fake-control-plane";
import { expectNoProcessLeft, freePort, processesWith, replicaCommand, uniqueMarker, waitFor } from "./support/processes";

let plane: FakeControlPlane;
let stateDir: string;
let recordDir: string;
let marker: string;
let agents: AgentHandle[] = [];
let logs: string[] = [];

beforeEach(async () => {
  plane = await FakeControlPlane.start();
  stateDir = mkdtempSync(join(tmpdir(), "ik-agent-state-"));
  recordDir = mkdtempSync(join(tmpdir(), "ik-agent-record-"));
  marker = uniqueMarker("agent");
  logs = [];
});

afterEach(async () => {
  await Promise.all(agents.map((a) => a.stop({ stopReplicas: true })));
  agents = [];
  await plane.close();
  await expectNoProcessLeft(marker);
  rmSync(stateDir, { recursive: true, force: true });
  rmSync(recordDir, { recursive: true, force: true });
});

async function agent(over: Partial<AgentOptions> = {}): Promise<AgentHandle> {
  const handle = await startAgent({
    baseUrl: plane.baseUrl,
    token: plane.token,
    stateDir,
    advertiseHost: "127.0.0.1",
    gpus: [],
    heartbeatIntervalMs: 100,
    retryInitialMs: 50,
    retryMaxMs: 200,
    env: { ...process.env, REPLICA_RECORD_DIR: recordDir },
    log: (line) => logs.push(line),
    supervisor: {
      probeIntervalMs: 100,
      readyProbeIntervalMs: 200,
      backoffInitialMs: 50,
      graceMs: 2_000,
      livenessIntervalMs: 100,
    },
    ...over,
  });
  agents.push(handle);
  return handle;
}

const reported = (replicaId: string, state: string) => () => {
  const report = plane.lastReport(replicaId);
  return report?.state === state && report;
};

/** What the test replica recorded about how it was started (the backend runs under the group leader's shell). */
function recorded(): { pid: number; argv: string[]; env: Record<string, string> }[] {
  return readdirSync(recordDir).map((file) => JSON.parse(readFileSync(join(recordDir, file), "utf8")));
}

function stateFile(): {
  replicas: { replica_id: string; pid: number; pgid: number; command_hash: string; backend_port?: number }[];
} {
  return JSON.parse(readFileSync(join(stateDir, STATE_FILE_NAME), "utf8"));
}

describe("startAgent against a control plane", () => {
  it("runs an assigned replica behind its front on the assigned port, backend on loopback, and reports it ready with load", async () => {
    // Prepare
    const port = await freePort();
    const assignment = testAssignment(marker, port);
    plane.assignments = [assignment];
    // Act
    await agent();
    const ready = await waitFor("ready report", reported(assignment.replica_id, "ready"));
    // Assess
    const [started, ...others] = recorded();
    expect(others).toEqual([]);
    if (started === undefined) throw new Error("the replica recorded nothing");
    expect(readProcStat(started.pid)?.pgrp).toBe(ready.pid);
    const backendPort = stateFile().replicas[0]?.backend_port;
    expect(backendPort).toBeGreaterThan(0);
    expect(backendPort).not.toBe(port);
    expect(started.argv.join(" ")).toContain(`--host 127.0.0.1 --port ${backendPort}`);
    expect(started.argv.join(" ")).not.toContain(assignment.secret);
    expect(started.env).toMatchObject({ HOST: "127.0.0.1", PORT: String(backendPort), CUDA_VISIBLE_DEVICES: "" });
    const models = await frontRequest(port, "/v1/models", { authorization: `Bearer ${assignment.secret}` });
    expect(models.status).toBe(200);
    expect(started.env.INFERENCEKEY_WORKER_TOKEN).toBeUndefined();
    const withLoad = await waitFor("load", () => plane.lastReport(assignment.replica_id)?.load);
    expect(withLoad).toMatchObject({ running_requests: 0, waiting_requests: 0 });
    const beat = plane.heartbeats.at(-1);
    expect(beat?.authorization).toBe(`Bearer ${plane.token}`);
    expect(beat?.body.host).toMatchObject({
      advertise_host: "127.0.0.1",
      gpus: [],
      agent_version: "0.1.0",
      front_certificate_sha256: models.certificateSha256,
    });
    expect(stateFile().replicas).toEqual([
      expect.objectContaining({ replica_id: assignment.replica_id, pid: ready.pid, pgid: ready.pid }),
    ]);
    expect(logs.join("\n")).not.toContain(assignment.secret);
    expect(logs.join("\n")).not.toContain(plane.token);
  });

  it("keeps the replica secret out of every backend's argv (/proc/*/cmdline) with the default vllm and sglang commands", async () => {
    // Prepare: the test replica as the command; as sglang it gets no key at all (sglang takes one only in argv).
    const vllm = testAssignment(marker, await freePort());
    const sglang = testAssignment(marker, await freePort(), {
      backend: "sglang",
      command: replicaCommand(marker, "--no-api-key"),
    });
    plane.assignments = [vllm, sglang];
    // Act
    await agent();
    await waitFor("vllm ready", reported(vllm.replica_id, "ready"));
    await waitFor("sglang ready", reported(sglang.replica_id, "ready"));
    // Assess
    const processes = processesWith(marker);
    expect(processes.length).toBeGreaterThanOrEqual(2);
    for (const { cmdline } of processes) {
      expect(cmdline).not.toContain(vllm.secret);
      expect(cmdline).not.toContain(sglang.secret);
      expect(cmdline).not.toContain("--api-key");
    }
    for (const assignment of [vllm, sglang]) {
      const through = await frontRequest(assignment.port, "/v1/models", { authorization: `Bearer ${assignment.secret}` });
      expect(through.status).toBe(200);
    }
  });

  it("retries a front that cannot listen for another reason than a held port, reporting why; failed after too many tries, and no backend started", async () => {
    // Prepare: an address that is on no box (TEST-NET-1): listening fails with EADDRNOTAVAIL, not EADDRINUSE.
    const port = await freePort();
    const assignment = testAssignment(marker, port, { host: "192.0.2.1" });
    plane.assignments = [assignment];
    // Act
    await agent({ supervisor: { backoffInitialMs: 50, maxConsecutiveFailures: 3 } });
    const waiting = await waitFor("retry report", () => {
      const report = plane.lastReport(assignment.replica_id);
      return report?.reason?.includes("retrying") === true && report;
    });
    const failed = await waitFor("failed report", reported(assignment.replica_id, "failed"));
    // Assess
    expect(waiting.state).toBe("starting");
    expect(waiting.reason).toContain(`the replica front cannot listen on 192.0.2.1:${port}: `);
    expect(failed.reason).toContain("EADDRNOTAVAIL");
    expect(failed.reason).toContain("3 attempts; not retrying");
    expect(plane.heartbeats.flatMap((h) => h.body.replicas).some((r) => r.port_unavailable === true)).toBe(false);
    expect(processesWith(marker)).toEqual([]);
  });

  it("stops an adopted backend whose front port another program took meanwhile, reports port_unavailable, and starts on the port the platform answers", async () => {
    // Prepare: a replica left serving by a first agent; while no agent runs, another program takes its port.
    const port = await freePort();
    const assignment = testAssignment(marker, port);
    plane.assignments = [assignment];
    const first = await agent();
    const ready = await waitFor("ready report", reported(assignment.replica_id, "ready"));
    await first.stop({ stopReplicas: false });
    const squatter = createServer();
    await new Promise<void>((done) => squatter.listen(port, "127.0.0.1", () => done()));
    try {
      // Act 1
      await agent();
      const refused = await waitFor("port_unavailable report", () => {
        const report = plane.lastReport(assignment.replica_id);
        return report?.port_unavailable === true && report;
      });
      // Assess 1: the adopted backend is ended, never reported failed.
      expect(refused).toMatchObject({ state: "starting", port });
      expect(refused.reason).toMatch(new RegExp(`port ${port} .*held by another program`));
      await waitFor("adopted backend ended", () => !isAlive(ready.pid ?? 0));
      // Act 2: the platform claims another port for the replica.
      const moved = await freePort();
      plane.assignments = [{ ...assignment, port: moved }];
      // Assess 2: a new backend behind a front on the new port.
      const again = await waitFor("ready on the new port", () => {
        const report = plane.lastReport(assignment.replica_id);
        return report?.state === "ready" && report.port === moved && report;
      }, 10_000);
      expect(again.port_unavailable).toBeUndefined();
      expect(again.pid).not.toBe(ready.pid);
      expect(isAlive(again.pid ?? 0)).toBe(true);
      const through = await frontRequest(moved, "/v1/models", { authorization: `Bearer ${assignment.secret}` });
      expect(through.status).toBe(200);
      const states = plane.heartbeats.flatMap((h) => h.body.replicas.filter((r) => r.replica_id === assignment.replica_id).map((r) => r.state));
      expect(states).not.toContain("failed");
    } finally {
      await new Promise<void>((done) => squatter.close(() => done()));
    }
  });

  it("pulls an ollama replica's model through ollama's API, reports the download, then reports it ready", async () => {
    // Prepare: the test replica in ollama mode starts without the model; a pull takes about 1.5 s.
    const port = await freePort();
    const assignment = testAssignment(marker, port, {
      backend: "ollama",
      command: replicaCommand(marker, "--no-api-key --ollama --ollama-pull-ms 1500"),
    });
    plane.assignments = [assignment];
    // Act
    await agent();
    const pulling = await waitFor("pulling report", () => {
      const report = plane.lastReport(assignment.replica_id);
      return report?.reason?.includes("% (") === true && report;
    });
    const ready = await waitFor("ready report", reported(assignment.replica_id, "ready"), 15_000);
    // Assess
    expect(pulling.state).toBe("starting");
    expect(pulling.reason).toMatch(new RegExp(`^waiting for the backend to answer: pulling model ${marker} into ollama: pulling 6a0746a1ec1a: \\d+% \\([\\d.]+ of 4\\.4 GB\\)$`));
    expect(ready.restarts).toBe(0);
    const answer = await frontRequest(port, "/api/tags", { authorization: `Bearer ${assignment.secret}` });
    const tags = JSON.parse(answer.body) as { models: { name: string }[] };
    expect(tags.models.map((m) => m.name)).toEqual([`${marker}:latest`]);
  });

  it("reports an ollama model that cannot be pulled with ollama's own reason", async () => {
    // Prepare: the assignment names a model this ollama does not know.
    const port = await freePort();
    const assignment = testAssignment(marker, port, {
      backend: "ollama",
      model: "no-such-model",
      command: replicaCommand(marker, "--no-api-key --ollama --ollama-pull-ms 100"),
    });
    plane.assignments = [assignment];
    // Act
    await agent();
    const failing = await waitFor("pull failure report", () => {
      const report = plane.lastReport(assignment.replica_id);
      return report?.reason?.includes("failed") === true && report;
    });
    // Assess
    expect(failing.state).toBe("starting");
    expect(failing.reason).toMatch(
      /^waiting for the backend to answer: pulling model no-such-model into ollama failed: pull model manifest: file does not exist; retrying in \d+ s$/,
    );
  });

  it("re-discovers GPUs while running: a GPU that drops off shows in the next heartbeats and the log", async () => {
    // Prepare
    const a100 = { index: 0, name: "NVIDIA A100-SXM4-80GB", memory_mb: 81920, uuid: "GPU-aaaa" };
    const h100 = { index: 1, name: "NVIDIA H100 80GB HBM3", memory_mb: 81559, uuid: "GPU-bbbb" };
    let present = [a100, h100];
    // Act
    await agent({ gpus: undefined, discoverGpus: async () => present, gpuRefreshMs: 100 });
    const reportedGpus = () => (plane.heartbeats.at(-1)?.body.host.gpus ?? []) as unknown[];
    await waitFor("both GPUs reported", () => reportedGpus().length === 2);
    present = [a100];
    const after = await waitFor("one GPU reported", () => reportedGpus().length === 1 && reportedGpus());
    // Assess
    expect(after).toEqual([a100]);
    expect(logs).toContain("GPUs changed: 0 NVIDIA A100-SXM4-80GB, 1 NVIDIA H100 80GB HBM3 -> 0 NVIDIA A100-SXM4-80GB");
  });

  it("reports a change made while applying a heartbeat's answer at once, not a whole interval later", async () => {
    // Prepare: a 5 s heartbeat interval and a backend that stays starting; the replica is spawned
    // while the first answer is applied, after that heartbeat's snapshot was taken.
    plane.intervalSeconds = 5;
    const assignment = testAssignment(marker, await freePort(), { command: replicaCommand(marker, "--ready-after-ms 60000") });
    plane.assignments = [assignment];

    // Act
    const started = Date.now();
    await agent({ heartbeatIntervalMs: undefined });
    await waitFor("a starting report", reported(assignment.replica_id, "starting"), 4_000);

    // Assess
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(plane.heartbeats.length).toBeGreaterThanOrEqual(2);
  });

  it("heartbeatNow() fetches new assignments at once instead of at the next interval", async () => {
    // Prepare: a 5 s interval, the first heartbeat already answered with nothing to run.
    plane.intervalSeconds = 5;
    const handle = await agent({ heartbeatIntervalMs: undefined });
    await waitFor("the first heartbeat", () => plane.heartbeats.length >= 1);
    const assignment = testAssignment(marker, await freePort());
    plane.assignments = [assignment];

    // Act
    const asked = Date.now();
    handle.heartbeatNow();
    await waitFor("a report of the new replica", () => plane.lastReport(assignment.replica_id), 4_000);

    // Assess
    expect(Date.now() - asked).toBeLessThan(2_000);
  });

  it("stops a replica that is no longer assigned, and forgets it", async () => {
    // Prepare
    const assignment = testAssignment(marker, await freePort());
    plane.assignments = [assignment];
    await agent();
    const ready = await waitFor("ready report", reported(assignment.replica_id, "ready"));
    // Act
    plane.assignments = [];
    // Assess
    await waitFor("process gone", () => !isAlive(ready.pid ?? 0) && processesWith(marker).length === 0);
    await waitFor("state file emptied", () => stateFile().replicas.length === 0);
    const count = plane.heartbeats.length;
    await waitFor(
      "a later heartbeat without it",
      () => plane.heartbeats.length > count + 1 && plane.heartbeats.at(-1)?.body.replicas.length === 0,
    );
  });

  it("stops a replica assigned as stopped and reports it stopped", async () => {
    // Prepare
    const assignment = testAssignment(marker, await freePort());
    plane.assignments = [assignment];
    await agent();
    await waitFor("ready report", reported(assignment.replica_id, "ready"));
    // Act
    plane.assignments = [{ ...assignment, desired: "stopped" }];
    // Assess
    await waitFor("stopped report", reported(assignment.replica_id, "stopped"));
    expect(processesWith(marker)).toEqual([]);
  });

  it("a slot stopped and then wanted again under the same id (scale down, then up) starts afresh", async () => {
    // Prepare: the replica runs, then the control plane stops it.
    const assignment = testAssignment(marker, await freePort());
    plane.assignments = [assignment];
    await agent();
    const first = await waitFor("ready report", reported(assignment.replica_id, "ready"));
    plane.assignments = [{ ...assignment, desired: "stopped" }];
    await waitFor("stopped report", reported(assignment.replica_id, "stopped"));
    // Act: the controller recreated the slot's record (same id), wanted running again.
    plane.assignments = [assignment];
    // Assess: a new process serves it.
    const again = await waitFor("ready again", reported(assignment.replica_id, "ready"));
    expect(again.pid).not.toBe(first.pid);
    expect(processesWith(marker).length).toBeGreaterThan(0);
  });

  it("reports the peak load sampled between heartbeats: a request that came and went still shows", async () => {
    // Prepare: heartbeats 1.5 s apart, load sampled every 100 ms; one streamed answer takes ~0.6 s.
    const port = await freePort();
    const assignment = testAssignment(marker, port, { command: replicaCommand(marker, "--chunk-delay-ms 60") });
    plane.assignments = [assignment];
    await agent({ heartbeatIntervalMs: 1_500, loadSampleMs: 100 });
    await waitFor("ready report", reported(assignment.replica_id, "ready"));
    // Act: one request, finished before the next heartbeat.
    await frontRequest(port, "/v1/completions", {
      method: "POST",
      authorization: `Bearer ${assignment.secret}`,
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: marker, prompt: "one two three four five six seven eight nine ten", max_tokens: 10, stream: true }),
    });
    const after = plane.heartbeats.length;
    // Assess: the next heartbeat reads nothing running now, but the peak of its window says 1.
    const beat = await waitFor("a heartbeat after the request", () => plane.heartbeats.length > after && plane.heartbeats.at(-1));
    const load = beat.body.replicas.find((r) => r.replica_id === assignment.replica_id)?.load;
    expect(load).toMatchObject({ running_requests: 0, peak_requests: 1, peak_window_seconds: 60 });
  });

  it("starts a new generation of a slot next to the old one; no rollout logic of its own", async () => {
    // Prepare
    const old = testAssignment(marker, await freePort());
    plane.assignments = [old];
    await agent();
    await waitFor("old ready", reported(old.replica_id, "ready"));
    const next = testAssignment(marker, await freePort(), { generation: 2 });
    // Act: the control plane keeps the old one until the new one is ready, then marks it stopped.
    plane.assignments = [old, next];
    await waitFor("new ready", reported(next.replica_id, "ready"));
    expect(plane.lastReport(old.replica_id)?.state).toBe("ready");
    plane.assignments = [{ ...old, desired: "stopped" }, next];
    // Assess
    await waitFor("old stopped", reported(old.replica_id, "stopped"));
    expect(plane.lastReport(next.replica_id)?.state).toBe("ready");
  });

  it("reports a replica whose vllm_version pin cannot be honoured as failed, with the reason", async () => {
    const assignment = testAssignment(marker, await freePort(), { vllm_version: "0.6.3" });
    plane.assignments = [assignment];
    await agent({ envsDir: join(stateDir, "no-envs-here") });
    const failed = await waitFor("failed report", reported(assignment.replica_id, "failed"));
    expect(failed.reason).toContain(
      `vllm_version 0.6.3 requested but no environment at ${join(stateDir, "no-envs-here", "vllm-0.6.3", "bin")}`,
    );
  });

  it("keeps replicas serving while the control plane is unreachable, then reconnects", async () => {
    // Prepare
    const assignment = testAssignment(marker, await freePort());
    plane.assignments = [assignment];
    await agent();
    const ready = await waitFor("ready report", reported(assignment.replica_id, "ready"));
    // Act
    await plane.down();
    await waitFor(
      "failed heartbeats",
      () => logs.filter((l) => l.startsWith("heartbeat failed")).length >= 3,
    );
    const health = await frontRequest(assignment.port, "/health", { authorization: `Bearer ${assignment.secret}` });
    const count = plane.heartbeats.length;
    await plane.up();
    // Assess
    expect(health.status).toBe(200);
    await waitFor("heartbeat after reconnect", () => plane.heartbeats.length > count);
    expect(plane.lastReport(assignment.replica_id)).toMatchObject({
      state: "ready",
      pid: ready.pid,
      restarts: 0,
    });
    await waitFor("reconnect logged", () =>
      logs.some((l) => l.startsWith("control plane reachable again after")),
    );
    expect(logs.find((l) => l.startsWith("heartbeat failed"))).toContain("(1 replica(s) keep serving)");
  });

  it("rejects with a clear message on 401 and stops its replicas", async () => {
    // Prepare
    const assignment = testAssignment(marker, await freePort());
    plane.assignments = [assignment];
    const handle = await agent();
    await waitFor("ready report", reported(assignment.replica_id, "ready"));
    // Act: the worker is deregistered; its token no longer works.
    plane.token = "ik_wrk_revoked";
    // Assess
    const error = await handle.done.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(WorkerTokenRejectedError);
    expect((error as Error).message).toBe(
      "worker token rejected: wrong or revoked (was the worker deregistered?); the control plane said: The worker was deregistered; its token no longer works.",
    );
    expect(processesWith(marker)).toEqual([]);
  });

  it("rejects a wrong token at start without running anything", async () => {
    const handle = await agent({ token: "ik_wrk_thisisnotthetokenthecontrolplanewants" });
    await expect(handle.done).rejects.toThrow(
      "worker token rejected: wrong or revoked (was the worker deregistered?)",
    );
  });

  it("after a restart, adopts a replica that is still assigned with the same command (no second process)", async () => {
    // Prepare
    const assignment = testAssignment(marker, await freePort());
    plane.assignments = [assignment];
    const first = await agent();
    const ready = await waitFor("ready report", reported(assignment.replica_id, "ready"));
    await first.stop({ stopReplicas: false });
    expect(isAlive(ready.pid ?? 0)).toBe(true);
    const beforeRestart = plane.heartbeats.length;
    // Act
    await agent();
    // Assess
    await waitFor(
      "reported by the new agent",
      () => plane.heartbeats.length > beforeRestart + 1 && plane.lastReport(assignment.replica_id),
    );
    expect(plane.lastReport(assignment.replica_id)).toMatchObject({ state: "ready", pid: ready.pid });
    // It was never reported as anything but ready by the new agent.
    const states = plane.heartbeats.slice(beforeRestart).flatMap((h) => h.body.replicas.map((r) => r.state));
    expect(new Set(states)).toEqual(new Set(["ready"]));
    expect(readdirSync(recordDir)).toHaveLength(1);
    expect(logs.some((l) => l.includes(`adopted replica ${assignment.project}/${assignment.workload} ${assignment.replica_id} (pid ${ready.pid})`))).toBe(
      true,
    );
    // Even before the first heartbeat, the new agent names the workload (kept in its state file).
    expect(logs).toContainEqual(expect.stringContaining(`found replica ${assignment.project}/${assignment.workload} ${assignment.replica_id} (pid ${ready.pid})`));
  });

  it("a replica left serving keeps running while it logs after its agent is gone, and is adopted", async () => {
    // Prepare: a backend that writes to stdout and stderr every 50 ms (a pipe nobody reads kills it).
    const assignment = testAssignment(marker, await freePort(), { command: replicaCommand(marker, "--log-every-ms 50") });
    plane.assignments = [assignment];
    const first = await agent();
    const ready = await waitFor("ready report", reported(assignment.replica_id, "ready"));
    // Act: the agent leaves, the backend goes on logging for a while, then a new agent starts.
    await first.stop({ stopReplicas: false });
    await new Promise((resolve) => setTimeout(resolve, 800));
    const aliveAlone = isAlive(ready.pid ?? 0);
    // The front ended with its agent; the backend itself still answers on loopback.
    const health = await fetch(`http://127.0.0.1:${stateFile().replicas[0]?.backend_port}/health`);
    const beforeRestart = plane.heartbeats.length;
    await agent();
    await waitFor("reported by the new agent", () => plane.heartbeats.length > beforeRestart + 1);
    const throughFront = await frontRequest(assignment.port, "/health", { authorization: `Bearer ${assignment.secret}` });
    // Assess
    expect(aliveAlone).toBe(true);
    expect(health.status).toBe(200);
    expect(throughFront.status).toBe(200);
    expect(plane.lastReport(assignment.replica_id)).toMatchObject({ state: "ready", pid: ready.pid });
  });

  it("after a restart, stops a recorded replica that is no longer assigned: no orphan", async () => {
    // Prepare
    const assignment = testAssignment(marker, await freePort());
    plane.assignments = [assignment];
    const first = await agent();
    const ready = await waitFor("ready report", reported(assignment.replica_id, "ready"));
    await first.stop({ stopReplicas: false });
    plane.assignments = [];
    // Act
    await agent();
    // Assess
    await waitFor("leftover stopped", () => !isAlive(ready.pid ?? 0) && processesWith(marker).length === 0);
    await waitFor("state file emptied", () => stateFile().replicas.length === 0);
  });

  it("after a restart, replaces a recorded replica whose command changed", async () => {
    // Prepare
    const assignment = testAssignment(marker, await freePort());
    plane.assignments = [assignment];
    const first = await agent();
    const ready = await waitFor("ready report", reported(assignment.replica_id, "ready"));
    await first.stop({ stopReplicas: false });
    plane.assignments = [{ ...assignment, command: `${assignment.command} --ready-after-ms 1` }];
    // Act
    await agent();
    // Assess: the old process is stopped first (it holds the port), then the new one runs.
    const replaced = await waitFor("new process ready", () => {
      const report = plane.lastReport(assignment.replica_id);
      return report?.state === "ready" && report.pid !== ready.pid && report;
    });
    expect(isAlive(ready.pid ?? 0)).toBe(false);
    expect(new Set(processesWith(marker).map((p) => readProcStat(p.pid)?.pgrp))).toEqual(
      new Set([replaced.pid]),
    );
  });

  it("a restarted agent that cannot reach the control plane leaves recorded replicas serving", async () => {
    // Prepare
    const assignment = testAssignment(marker, await freePort());
    plane.assignments = [assignment];
    const first = await agent();
    const ready = await waitFor("ready report", reported(assignment.replica_id, "ready"));
    await first.stop({ stopReplicas: false });
    await plane.down();
    // Act
    const second = await agent();
    await waitFor(
      "failed heartbeats",
      () => logs.filter((l) => l.startsWith("heartbeat failed")).length >= 2,
    );
    // Assess
    expect(isAlive(ready.pid ?? 0)).toBe(true);
    expect(stateFile().replicas.map((r) => r.pid)).toEqual([ready.pid]);
    // Stopping it (replicas included) still reaches the undecided process.
    await second.stop({ stopReplicas: true });
    expect(processesWith(marker)).toEqual([]);
  });
});

describe("retryDelayMs", () => {
  it("doubles up to the cap, with jitter between half and all of it", () => {
    expect([1, 2, 3, 10].map((n) => retryDelayMs(n, 1_000, 30_000, () => 1))).toEqual([
      1_000, 2_000, 4_000, 30_000,
    ]);
    expect([1, 2, 3, 10].map((n) => retryDelayMs(n, 1_000, 30_000, () => 0))).toEqual([
      500, 1_000, 2_000, 15_000,
    ]);
  });
});

describe("issue 11.7: the agent only uses a port it can bind", () => {
  it("does not start a backend on a port another program holds, reports it, and starts on the port the platform answers", async () => {
    // Prepare: another program listens on the assigned port.
    const squatter = createServer();
    const taken = await freePort();
    await new Promise<void>((resolve) => squatter.listen(taken, "127.0.0.1", resolve));
    const assignment = testAssignment(marker, taken);
    plane.assignments = [assignment];

    try {
      // Act 1
      await agent();
      const refused = await waitFor("port_unavailable report", () => plane.lastReport(assignment.replica_id)?.port_unavailable === true && plane.lastReport(assignment.replica_id));

      // Assess 1: nothing was started, and the report says why.
      expect(refused).toMatchObject({ state: "starting", port: taken });
      expect(refused.reason).toMatch(new RegExp(`port ${taken} .*held by another program`));
      expect(processesWith(marker)).toEqual([]);

      // Act 2: the platform claims another port for the replica.
      const moved = await freePort();
      plane.assignments = [{ ...assignment, port: moved }];

      // Assess 2
      const ready = await waitFor("ready on the new port", reported(assignment.replica_id, "ready"), 10_000);
      expect(ready.port).toBe(moved);
      expect(ready.port_unavailable).toBeUndefined();
      const through = await frontRequest(moved, "/v1/models", { authorization: `Bearer ${assignment.secret}` });
      expect(through.status).toBe(200);
    } finally {
      squatter.close();
    }
  });
});

describe("issue 11.16: per-replica cgroups", () => {
  const base = ownCgroupDir();
  const writable = base !== undefined && createReplicaCgroup(replicaCgroupDir(base, "probe", `rep_probe${process.pid}`));
  if (writable && base !== undefined) removeReplicaCgroup(replicaCgroupDir(base, "probe", `rep_probe${process.pid}`));

  it.skipIf(!writable)("an agent starting removes the empty cgroups its instance left behind", async () => {
    // Prepare: what a platform killed hard leaves: an empty cgroup of this state directory's agent.
    const left = replicaCgroupDir(base ?? "", agentInstance(stateDir), "rep_leftover");
    expect(createReplicaCgroup(left)).toBe(true);

    // Act
    await agent();

    // Assess
    expect(existsSync(left)).toBe(false);
  });
});
