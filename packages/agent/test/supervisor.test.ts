import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { createServer } from "node:net";
import type { Assignment } from "@inferencekey/core";
import { afterEach, describe, expect, it } from "vitest";
import {
  buildCommand,
  checkReady,
  type Clock,
  describeExit,
  enterReplicaCgroup,
  ownCgroupDir,
  type ProbeResult,
  ReplicaSupervisor,
  readProcStat,
  removeReplicaCgroup,
  replicaCgroupDir,
  restartDelayMs,
  type SupervisorTuning,
  systemClock,
} from "../src";
import { testAssignment } from "./support/assignments";
import {
  expectNoProcessLeft,
  freePort,
  processesWith,
  replicaCommand,
  uniqueMarker,
  waitFor,
} from "./support/processes";

const FAST: Partial<SupervisorTuning> = {
  probeIntervalMs: 100,
  readyProbeIntervalMs: 200,
  backoffInitialMs: 50,
  backoffMaxMs: 200,
  graceMs: 2_000,
  livenessIntervalMs: 100,
};

/** Tags this test process's backends, as an agent instance would. */
const TEST_INSTANCE = `test${process.pid}`;

let markers: string[] = [];
let supervisors: ReplicaSupervisor[] = [];

afterEach(async () => {
  await Promise.all(supervisors.map((s) => s.stop()));
  supervisors = [];
  const done = markers;
  markers = [];
  for (const marker of done) await expectNoProcessLeft(marker);
});

async function setup(label: string, over: Partial<Assignment> = {}) {
  const marker = uniqueMarker(label);
  markers.push(marker);
  const port = await freePort();
  const assignment = testAssignment(
    marker,
    port,
    over.command === undefined ? over : { ...over, command: over.command.replaceAll("MARKER", marker) },
  );
  return { marker, port, assignment };
}

function supervise(
  assignment: Assignment,
  options: {
    tuning?: Partial<SupervisorTuning>;
    probe?: (signal: AbortSignal) => Promise<ProbeResult>;
    clock?: Clock;
    cgroupBase?: string;
  } = {},
) {
  const built = buildCommand(assignment, { backendPort: assignment.port, instance: TEST_INSTANCE });
  if (!built.ok) throw new Error(built.reason);
  const output: string[] = [];
  const logs: string[] = [];
  const supervisor = new ReplicaSupervisor({
    replicaId: assignment.replica_id,
    command: built.command,
    secrets: [assignment.secret],
    probe: options.probe ?? ((signal) => checkReady(assignment, { signal })),
    tuning: { ...FAST, ...options.tuning },
    ...(options.clock === undefined ? {} : { clock: options.clock }),
    ...(options.cgroupBase === undefined ? {} : { cgroupBase: options.cgroupBase }),
    log: (line) => logs.push(line),
    onOutput: (_stream, line) => output.push(line),
  });
  supervisors.push(supervisor);
  return { supervisor, output, logs };
}

const state = (supervisor: ReplicaSupervisor, wanted: string) => () =>
  supervisor.snapshot().state === wanted && supervisor.snapshot();

describe("ReplicaSupervisor with the test replica", () => {
  it("starts the backend in its own process group and reports it ready within seconds", async () => {
    // Prepare
    const { assignment, port } = await setup("ready");
    const { supervisor } = supervise(assignment);
    const started = Date.now();
    // Act
    supervisor.start();
    const ready = await waitFor("ready", state(supervisor, "ready"), 10_000);
    // Assess
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(ready.pid).toBeGreaterThan(0);
    expect(readProcStat(ready.pid ?? 0)?.pgrp).toBe(ready.pid);
    const withKey = await fetch(`http://127.0.0.1:${port}/v1/models`, {
      headers: { authorization: `Bearer ${assignment.secret}` },
    });
    const withoutKey = await fetch(`http://127.0.0.1:${port}/v1/models`);
    expect([withKey.status, withoutKey.status]).toEqual([200, 401]);
  });

  it("probes a starting backend early and then less often: a quick backend is seen ready long before the probe period", async () => {
    // Prepare: a 3 s probe period while starting; probes start at 50 ms and double up to it.
    const { assignment } = await setup("quick");
    const { supervisor } = supervise(assignment, { tuning: { probeIntervalMs: 3_000 } });
    const started = Date.now();
    // Act
    supervisor.start();
    await waitFor("ready", state(supervisor, "ready"), 10_000);
    // Assess
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it("restarts a backend killed with SIGKILL, which becomes ready again", async () => {
    // Prepare
    const { assignment } = await setup("kill9");
    const { supervisor } = supervise(assignment);
    supervisor.start();
    const first = await waitFor("ready", state(supervisor, "ready"));
    // Act
    process.kill(first.pid ?? 0, "SIGKILL");
    const again = await waitFor(
      "ready after restart",
      () => supervisor.snapshot().restarts === 1 && state(supervisor, "ready")(),
    );
    // Assess
    expect(again.pid).not.toBe(first.pid);
    expect(again.reason).toBeUndefined();
  });

  it("a crash loop ends in failed, with the exit code and the stderr tail", async () => {
    // Prepare
    const { assignment } = await setup("crashloop", {
      command: replicaCommand("MARKER", "--exit-after-ms 150 --exit-code 3"),
    });
    const { supervisor } = supervise(assignment, { tuning: { maxConsecutiveFailures: 3 } });
    // Act
    supervisor.start();
    const failed = await waitFor("failed", state(supervisor, "failed"));
    // Assess
    expect(failed.exitCode).toBe(3);
    expect(failed.restarts).toBe(2);
    expect(failed.reason).toBe(
      "exited with code 3: openai-replica: exiting on purpose with code 3 (3 failures in a row; not restarting)",
    );
    expect(failed.stderrTail).toContain("openai-replica: exiting on purpose with code 3");
    expect(failed.pid).toBeUndefined();
  });

  it("a backend that never becomes ready is stopped after the startup timeout, restarted, and failed after too many", async () => {
    // Prepare: the test replica runs but reports not ready for ten minutes.
    const { assignment } = await setup("hung", { command: replicaCommand("MARKER", "--ready-after-ms 600000") });
    const { supervisor, logs } = supervise(assignment, {
      tuning: { startupTimeoutMs: 700, maxConsecutiveFailures: 2 },
    });
    // Act
    supervisor.start();
    const failed = await waitFor("failed", state(supervisor, "failed"), 15_000);
    // Assess: two runs, each stopped by the supervisor, with the reason in words.
    expect(failed.restarts).toBe(1);
    expect(failed.reason).toMatch(
      /^not ready and no progress for [\d.]+ s \(limit 0\.7 s\): .*; stopped it \(killed by SIGTERM\) \(2 failures in a row; not restarting\)$/,
    );
    expect(logs.filter((line) => line.includes("stopping it"))).toHaveLength(2);
    expect(failed.pid).toBeUndefined();
  });

  it("a backend that is not ready but reports progress is not stopped; once progress stops, the timeout runs", async () => {
    // Prepare: not ready throughout; "progress" (as an ollama model download reports it) for the first second.
    const { assignment } = await setup("progress", { command: replicaCommand("MARKER", "--ready-after-ms 600000") });
    let progressing = true;
    const { supervisor, logs } = supervise(assignment, {
      tuning: { startupTimeoutMs: 400, maxConsecutiveFailures: 1 },
      probe: async () => ({ ok: false, reason: "downloading", progress: progressing }),
    });
    // Act
    supervisor.start();
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const during = supervisor.snapshot();
    progressing = false;
    const failed = await waitFor("failed", state(supervisor, "failed"), 10_000);
    // Assess
    expect(during.state).toBe("starting");
    expect(logs.filter((line) => line.includes("stopping it"))).toHaveLength(1);
    expect(failed.reason).toMatch(/^not ready and no progress for [\d.]+ s \(limit 0\.4 s\): downloading; stopped it/);
  });

  it("a ready backend that stops answering is stopped after the unresponsive timeout and comes back", async () => {
    // Prepare: readiness follows a switch the test flips, so the backend process itself stays alive.
    const { assignment } = await setup("unresponsive");
    let answering = true;
    const { supervisor, logs } = supervise(assignment, {
      tuning: { unresponsiveTimeoutMs: 500, unreadyAfterFailures: 2 },
      probe: async (signal) => (answering ? checkReady(assignment, { signal }) : { ok: false, reason: "timed out" }),
    });
    supervisor.start();
    const first = await waitFor("ready", state(supervisor, "ready"));
    // Act
    answering = false;
    const restarting = await waitFor("restart", () => supervisor.snapshot().restarts === 1 && supervisor.snapshot(), 10_000);
    answering = true;
    const again = await waitFor("ready again", state(supervisor, "ready"));
    // Assess
    expect(logs.some((line) => /stopped answering for [\d.]+ s \(limit 0\.5 s\): timed out; stopping it/.test(line))).toBe(true);
    expect(again.pid).not.toBe(first.pid);
    expect(restarting.pid).not.toBe(first.pid);
    // The hung process itself is gone (same pid with the same start time would be the same process).
    expect(readProcStat(first.pid ?? 0)?.startTime === first.procStartTime).toBe(false);
  });

  it("a command that does not exist fails at once with a readable reason (exit code 127 + the shell's line)", async () => {
    // Prepare
    const { assignment, marker } = await setup("notfound", { command: "MARKER-no-such-backend serve m" });
    const { supervisor } = supervise(assignment);
    // Act
    supervisor.start();
    const failed = await waitFor("failed", state(supervisor, "failed"));
    // Assess
    expect(failed.exitCode).toBe(127);
    expect(failed.restarts).toBe(0);
    expect(failed.reason).toMatch(
      new RegExp(`^exited with code 127 \\(command not found\\): .*${marker}-no-such-backend.*not found`),
    );
  });

  it("a backend that crashes on a taken port is failed with the EADDRINUSE line, not Node's version footer", async () => {
    // Prepare: something else holds the port the replica is told to listen on.
    const { assignment } = await setup("portclash");
    const holder = createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => holder.listen(assignment.port, assignment.host, resolve));
    try {
      const { supervisor } = supervise(assignment, { tuning: { maxConsecutiveFailures: 1 } });
      // Act
      supervisor.start();
      const failed = await waitFor("failed", state(supervisor, "failed"));
      // Assess
      expect(failed.exitCode).toBe(1);
      expect(failed.stderrTail.at(-1)).toMatch(/^Node\.js v\d/);
      expect(failed.reason).toMatch(/^exited with code 1: Error: listen EADDRINUSE: address already in use .*:\d+ \(1 failures in a row/);
    } finally {
      await new Promise((resolve) => holder.close(resolve));
    }
  });

  it("a graceful stop reaches the whole process group: nothing is left behind", async () => {
    // Prepare: a shell that backgrounds the backend and waits, so the backend is not the group leader.
    const inner = `${replicaCommand("MARKER")} --host {host} --port {port} --api-key {api_key}`;
    const { assignment, marker } = await setup("group", { command: `sh -c '${inner} & wait'` });
    const { supervisor } = supervise(assignment);
    supervisor.start();
    await waitFor("ready", state(supervisor, "ready"));
    expect(processesWith(marker).length).toBeGreaterThanOrEqual(2);
    // Act
    await supervisor.stop();
    // Assess
    expect(supervisor.snapshot().state).toBe("stopped");
    expect(processesWith(marker)).toEqual([]);
  });

  it("a backend that ignores SIGTERM is killed with SIGKILL after the grace period", async () => {
    // Prepare
    const script = `process.on('SIGTERM', () => console.error('ignoring SIGTERM')); setInterval(() => {}, 1000)`;
    const { assignment, marker } = await setup("stubborn", {
      backend: "ollama",
      command: `${process.execPath} -e "${script}" MARKER`,
    });
    const { supervisor, logs, output } = supervise(assignment, {
      tuning: { graceMs: 400 },
      probe: async () => ({ ok: false, reason: "not a server" }),
    });
    supervisor.start();
    await waitFor("running", () => processesWith(marker).length > 0);
    await new Promise((r) => setTimeout(r, 200));
    const started = Date.now();
    // Act
    await supervisor.stop();
    // Assess
    expect(Date.now() - started).toBeGreaterThanOrEqual(400);
    expect(output).toContain("ignoring SIGTERM");
    expect(logs.some((l) => l.includes("did not stop within 0.4 s of SIGTERM; killed"))).toBe(true);
    expect(processesWith(marker)).toEqual([]);
  });

  it("redacts the replica secret from captured output", async () => {
    // Prepare
    const { assignment } = await setup("redact", {
      backend: "ollama",
      command: `echo "MARKER the key is $INFERENCEKEY_REPLICA_SECRET" >&2; exit 3`,
    });
    const { supervisor, output, logs } = supervise(assignment, { tuning: { maxConsecutiveFailures: 1 } });
    // Act
    supervisor.start();
    const failed = await waitFor("failed", state(supervisor, "failed"));
    // Assess
    expect(failed.stderrTail.at(-1)).toMatch(/the key is \[redacted\]$/);
    expect(JSON.stringify([failed, output, logs])).not.toContain(assignment.secret);
  });

  it("a run that stayed ready for the stable period resets the failure count", async () => {
    // Prepare: two failures in a row fail the replica, unless the run between them was stable.
    let offset = 0;
    const clock: Clock = { ...systemClock, now: () => Date.now() + offset };
    const { assignment } = await setup("stable");
    const { supervisor } = supervise(assignment, {
      clock,
      tuning: { maxConsecutiveFailures: 2, stableAfterMs: 60_000 },
    });
    supervisor.start();
    const first = await waitFor("ready", state(supervisor, "ready"));
    process.kill(first.pid ?? 0, "SIGKILL");
    const second = await waitFor(
      "ready again",
      () => supervisor.snapshot().restarts === 1 && state(supervisor, "ready")(),
    );
    // Act: the second run has been ready for 61 s when it dies.
    offset += 61_000;
    process.kill(second.pid ?? 0, "SIGKILL");
    // Assess
    const third = await waitFor(
      "ready a third time",
      () => supervisor.snapshot().restarts === 2 && state(supervisor, "ready")(),
    );
    expect(third.state).toBe("ready");
  });

  it("supervises an adopted process and restarts the backend when that process dies", async () => {
    // Prepare: a backend started by "a previous agent" (here: the test), in its own group.
    const { assignment, marker } = await setup("adopt");
    const built = buildCommand(assignment, { backendPort: assignment.port });
    if (!built.ok) throw new Error(built.reason);
    const previous = spawn("/bin/sh", ["-c", built.command.shell], {
      detached: true,
      env: built.command.env,
      stdio: "ignore",
    });
    const pid = previous.pid ?? 0;
    await waitFor("previous ready", async () => (await checkReady(assignment)).ok);
    const { supervisor } = supervise(assignment);
    // Act
    supervisor.adopt(
      { pid, pgid: pid, startedAt: new Date().toISOString(), procStartTime: readProcStat(pid)?.startTime },
      true,
    );
    expect(supervisor.snapshot()).toMatchObject({ state: "ready", pid, adopted: true });
    process.kill(pid, "SIGKILL");
    // Assess
    const restarted = await waitFor(
      "restarted",
      () => supervisor.snapshot().restarts === 1 && state(supervisor, "ready")(),
    );
    expect(restarted.pid).not.toBe(pid);
    expect(restarted.adopted).toBe(false);
    expect(processesWith(marker).map((p) => p.pid)).not.toContain(pid);
  });
});

describe("restart policy", () => {
  it("backs off exponentially from 1 s, capped at 30 s", () => {
    expect([1, 2, 3, 4, 5, 6, 7, 100].map((n) => restartDelayMs(n, 1_000, 30_000))).toEqual([
      1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000, 30_000,
    ]);
  });

  it("describes exits in words", () => {
    expect(describeExit(127, null, "/bin/sh: 1: vllm: not found")).toBe(
      "exited with code 127 (command not found): /bin/sh: 1: vllm: not found",
    );
    expect(describeExit(126, null)).toBe("exited with code 126 (command not executable)");
    expect(describeExit(null, "SIGKILL")).toBe("killed by SIGKILL");
    expect(describeExit(1, null, "CUDA out of memory")).toBe("exited with code 1: CUDA out of memory");
  });
});

const cgroupBase = ownCgroupDir();
/** Whether this machine lets us create a cgroup and move a process into it (a short-lived `sleep`). */
const cgroupsWritable = async () => {
  if (cgroupBase === undefined) return false;
  const sleeper = spawn("sleep", ["5"], { stdio: "ignore" });
  const dir = enterReplicaCgroup(replicaCgroupDir(cgroupBase, TEST_INSTANCE, "probe"), sleeper.pid ?? 0);
  sleeper.kill("SIGKILL");
  await new Promise((resolve) => sleeper.once("exit", resolve));
  if (dir !== undefined) {
    await waitFor("probe cgroup removed", () => {
      removeReplicaCgroup(dir);
      return !existsSync(dir);
    }, 2_000);
  }
  return dir !== undefined;
};
const writable = await cgroupsWritable();

describe("issue 11.16: a stop reaches every process of the replica, not only its group", () => {
  it("ends a double-forking setsid child that left the process group", async () => {
    // Prepare: the backend serves, and also starts a grandchild in a new session (its own group),
    // through an intermediate that exits at once: the daemon is re-parented and outside the group.
    const idle = `${process.execPath} -e "setInterval(() => {}, 1000)" MARKER-daemon`;
    const { assignment, marker } = await setup("setsid", {
      command: `setsid /bin/sh -c '${idle} &' ; ${replicaCommand("MARKER")}`,
    });
    const { supervisor } = supervise(assignment);
    supervisor.start();
    const ready = await waitFor("ready", state(supervisor, "ready"), 10_000);
    const daemon = await waitFor("the detached daemon", () => processesWith(`${marker}-daemon`).find((p) => p.cmdline.startsWith(process.execPath)), 5_000);
    expect(readProcStat(daemon.pid)?.pgrp).not.toBe(ready.pid);

    // Act
    await supervisor.stop();

    // Assess
    expect(processesWith(`${marker}-daemon`)).toEqual([]);
    expect(processesWith(marker)).toEqual([]);
  });


  it.skipIf(!writable)("where cgroup v2 is writable, also ends a detached child that wiped its environment (env -i)", async () => {
    // Prepare: the daemon escapes the group (setsid) and the environment scan (env -i): only the cgroup holds it.
    const idle = `${process.execPath} -e "setInterval(() => {}, 1000)" MARKER-daemon`;
    const { assignment, marker } = await setup("cgroup", {
      command: `env -i setsid /bin/sh -c '${idle} &' ; ${replicaCommand("MARKER")}`,
    });
    const { supervisor } = supervise(assignment, { cgroupBase });
    supervisor.start();
    await waitFor("ready", state(supervisor, "ready"), 10_000);
    await waitFor("the detached daemon", () => processesWith(`${marker}-daemon`).find((p) => p.cmdline.startsWith(process.execPath)), 5_000);
    const dir = replicaCgroupDir(cgroupBase ?? "", TEST_INSTANCE, assignment.replica_id);

    // Act
    await supervisor.stop();

    // Assess
    expect(processesWith(`${marker}-daemon`)).toEqual([]);
    expect(existsSync(dir)).toBe(false);
  });
});
