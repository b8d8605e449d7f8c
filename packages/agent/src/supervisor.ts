import { type ChildProcess, spawn } from "node:child_process";
import type { Readable } from "node:stream";
import type { BuiltCommand } from "./command";
import type { ProbeResult } from "./health";
import { OutputLines } from "./output-lines";
import { AGENT_INSTANCE_ENV, isAlive, type ReplicaProcesses, readProcStat, signalReplica, stopReplicaProcesses } from "./processes";
import { createReplicaCgroup, replicaCgroupDir, shellEnteringCgroup } from "./replica-cgroup";
import { tellingLine } from "./telling-line";

export type SupervisorState = "starting" | "ready" | "failed" | "stopping" | "stopped";

/** Time as the supervisor sees it: injectable so tests can drive backoff and the stable-run reset. */
export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

export interface SupervisorTuning {
  /** Consecutive failed runs after which the replica is `failed` and not restarted. */
  maxConsecutiveFailures: number;
  /** Restart delay after the first failure; doubles per failure up to `backoffMaxMs`. */
  backoffInitialMs: number;
  backoffMaxMs: number;
  /** A run that stayed ready this long resets the consecutive failure count. */
  stableAfterMs: number;
  /** Between SIGTERM to the process group and SIGKILL. */
  graceMs: number;
  /**
   * First readiness probe after a launch; while starting the period doubles from here up to
   * `probeIntervalMs`, so a backend that is up in a moment is seen in a moment (the cold call waits
   * on it) and a slow one costs no more probes than before.
   */
  probeInitialMs: number;
  /** Readiness probe period while starting, and while ready. */
  probeIntervalMs: number;
  readyProbeIntervalMs: number;
  probeTimeoutMs: number;
  /** Failed probes in a row after which a ready replica goes back to `starting`. */
  unreadyAfterFailures: number;
  /**
   * A run that has not answered this long after it started (or was adopted) is stopped and counts
   * as a failed run: a backend hung while loading must not hold its GPU and port forever.
   */
  startupTimeoutMs: number;
  /** A run that was ready and has not answered for this long is stopped and counts as a failed run. */
  unresponsiveTimeoutMs: number;
  /** Liveness poll of an adopted process (not our child, so no exit event). */
  livenessIntervalMs: number;
  /** stderr lines kept for the failure report. */
  stderrLines: number;
}

export const DEFAULT_TUNING: SupervisorTuning = {
  maxConsecutiveFailures: 5,
  backoffInitialMs: 1_000,
  backoffMaxMs: 30_000,
  stableAfterMs: 60_000,
  graceMs: 10_000,
  probeInitialMs: 50,
  probeIntervalMs: 500,
  readyProbeIntervalMs: 2_000,
  probeTimeoutMs: 3_000,
  unreadyAfterFailures: 2,
  // Large models download and load for many minutes before vLLM answers.
  startupTimeoutMs: 30 * 60_000,
  unresponsiveTimeoutMs: 5 * 60_000,
  livenessIntervalMs: 1_000,
  stderrLines: 40,
};

/** Restart delay after the n-th consecutive failure (n >= 1): initial, 2x, 4x ... capped. */
export function restartDelayMs(failures: number, initialMs: number, maxMs: number): number {
  return Math.min(maxMs, initialMs * 2 ** Math.max(0, Math.min(failures - 1, 30)));
}

/**
 * An exit in words a person can act on, with the stderr line that tells why ({@link tellingLine});
 * 126/127 are the shell saying the command could not run.
 */
export function describeExit(code: number | null, signal: string | null, cause?: string): string {
  const what =
    signal !== null
      ? `killed by ${signal}`
      : code === 127
        ? "exited with code 127 (command not found)"
        : code === 126
          ? "exited with code 126 (command not executable)"
          : `exited with code ${code}`;
  return cause === undefined ? what : `${what}: ${cause}`;
}

/** A process a previous agent started, to be supervised again. */
export interface AdoptedProcess {
  pid: number;
  pgid: number;
  startedAt: string;
  procStartTime?: string;
}

export interface SupervisorSnapshot {
  replicaId: string;
  state: SupervisorState;
  reason?: string;
  pid?: number;
  pgid?: number;
  startedAt?: string;
  procStartTime?: string;
  restarts: number;
  exitCode?: number | null;
  stderrTail: string[];
  adopted: boolean;
}

export interface SupervisorOptions {
  replicaId: string;
  /** How log lines name the replica (e.g. `acme/support-bot rep_...`). Default: the replica id. */
  label?: string;
  command: BuiltCommand;
  /** Redacted from every captured output line. */
  secrets: string[];
  /** Readiness: resolves ok when the backend serves its model. */
  probe: (signal: AbortSignal) => Promise<ProbeResult>;
  cwd?: string;
  /**
   * A cgroup v2 directory the agent may create children in: each run then goes into the replica's
   * own cgroup (needs the command's INFERENCEKEY_AGENT_INSTANCE, which names it).
   */
  cgroupBase?: string;
  tuning?: Partial<SupervisorTuning>;
  clock?: Clock;
  log?: (line: string) => void;
  /** Every backend output line, secrets redacted. */
  onOutput?: (stream: "stdout" | "stderr", line: string) => void;
  /** After every state change and every (re)spawn or exit. */
  onChange?: (snapshot: SupervisorSnapshot) => void;
}

type TimerName = "restart" | "probe" | "liveness";

interface Run {
  pid: number;
  pgid: number;
  startedAt: number;
  /** When this supervisor began watching the run (its launch, or its adoption). */
  watchedSince: number;
  /** When a ready run stopped answering. */
  unreadySince: number | undefined;
  /** Set when the supervisor stopped the run itself because it hung; the exit is reported with it. */
  hungReason: string | undefined;
  procStartTime: string | undefined;
  /** Undefined for an adopted process. */
  child: ChildProcess | undefined;
  closed: Promise<void>;
  readySince: number | undefined;
  longestReadyMs: number;
  probeFailures: number;
  /** Probes made while starting, for the doubling probe period. */
  startingProbes: number;
  wasReady: boolean;
  ended: boolean;
}

/** Reads every inherited fd from 3 on until its end, discarding the bytes; exits when all ended. */
const DRAIN_SCRIPT =
  "const net=require('node:net');const n=Number(process.argv[1]);" +
  "for(let fd=3;fd<3+n;fd++){const s=new net.Socket({fd,readable:true,writable:false});s.on('error',()=>{});s.resume();}";

/**
 * Hands backends' output pipes to one small detached reader (this Node, reading to nowhere) and
 * closes this process's ends. Once the agent is gone nobody else would read them, and a backend
 * writing to a pipe without a reader dies of EPIPE/SIGPIPE (Go programs such as ollama at once).
 * The reader exits when every backend it drains has exited (end of file on all pipes). A shell
 * `cat` cannot do it: the pipes are non-blocking, and cat gives up on EAGAIN.
 */
export function keepOutputDrained(pipes: Readable[]): void {
  if (pipes.length === 0) return;
  try {
    const drainer = spawn(process.execPath, ["-e", DRAIN_SCRIPT, String(pipes.length)], {
      detached: true,
      stdio: ["ignore", "ignore", "ignore", ...pipes],
      env: {},
    });
    drainer.on("error", () => {});
    drainer.unref();
  } catch {
    // Without a reader a backend may die at its next output line; the next agent then restarts it.
  }
  for (const pipe of pipes) pipe.destroy();
}

/**
 * argv: the agent's pid, the backend's pid, the number of pipes (inherited from fd 3 on). Reads
 * nothing while the agent lives; drains the pipes to nowhere once it is gone; exits with the backend.
 */
const GUARD_SCRIPT =
  "const net=require('node:net');const[agent,backend,n]=process.argv.slice(1).map(Number);" +
  "const alive=(pid)=>{try{process.kill(pid,0);return true}catch(e){return e.code==='EPERM'}};" +
  "const timer=setInterval(()=>{if(!alive(backend))process.exit(0);if(alive(agent))return;clearInterval(timer);" +
  "for(let fd=3;fd<3+n;fd++){const s=new net.Socket({fd,readable:true,writable:false});s.on('error',()=>{});s.resume();}},500);";

/**
 * Starts a small detached guard beside a backend holding copies of the read ends of its output
 * pipes. While this process lives the guard reads nothing (the agent reads the output); once this
 * process is gone, however it went (kill -9 of `npm start` included, when no code of the agent runs
 * to call `keepOutputDrained`), the guard drains the pipes within half a second, so the backend
 * does not die of EPIPE/SIGPIPE before the next agent adopts it. It exits when the backend exits.
 */
export function guardOutput(backendPid: number, pipes: Readable[]): void {
  // The descriptors, not the streams: given a stream, spawn wraps its handle in a new socket of this
  // process that takes over its reads, and the agent would see no more output.
  const fds = pipes
    .map((pipe) => (pipe as unknown as { _handle?: { fd?: unknown } })._handle?.fd)
    .filter((fd): fd is number => typeof fd === "number" && fd >= 0);
  if (fds.length === 0) return;
  try {
    const guard = spawn(process.execPath, ["-e", GUARD_SCRIPT, String(process.pid), String(backendPid), String(fds.length)], {
      detached: true,
      stdio: ["ignore", "ignore", "ignore", ...fds],
      env: {},
    });
    guard.on("error", () => {});
    guard.unref();
  } catch {
    // Without a guard the backend outlives a graceful stop (keepOutputDrained) but not a hard one.
  }
}

const message = (error: unknown) => (error instanceof Error ? error.message : String(error));
const seconds = (ms: number) => `${Number((ms / 1000).toFixed(1))} s`;

/**
 * Runs one replica: a `/bin/sh -c` child in its own process group, probed for readiness, restarted
 * with capped exponential backoff when it exits, `failed` after too many failures in a row, stopped
 * as a group (SIGTERM, grace period, SIGKILL).
 */
export class ReplicaSupervisor {
  private readonly tuning: SupervisorTuning;
  private readonly clock: Clock;
  private readonly stderr: OutputLines;
  private readonly stdout: OutputLines;
  private state: SupervisorState = "starting";
  private reason: string | undefined;
  private run: Run | undefined;
  /** The last run's group until stopped: a crashed leader may leave children behind. */
  private lastPgid: number | undefined;
  private restarts = 0;
  private failures = 0;
  private exitCode: number | null | undefined;
  private lastExit: string | undefined;
  private adopted = false;
  private timers: Partial<Record<TimerName, unknown>> = {};
  private stopRequested = false;
  private stopping: Promise<void> | undefined;
  private detached = false;

  constructor(private readonly options: SupervisorOptions) {
    this.tuning = { ...DEFAULT_TUNING, ...options.tuning };
    this.clock = options.clock ?? systemClock;
    this.stderr = new OutputLines(this.tuning.stderrLines, options.secrets, (line) =>
      options.onOutput?.("stderr", line),
    );
    this.stdout = new OutputLines(0, options.secrets, (line) => options.onOutput?.("stdout", line));
  }

  get replicaId(): string {
    return this.options.replicaId;
  }

  /** Spawns the backend. */
  start(): void {
    this.launch();
  }

  /** Supervises a process a previous agent started; `ready` when it already answered a probe. */
  adopt(process: AdoptedProcess, ready: boolean): void {
    const now = this.clock.now();
    const run = this.watch(
      {
        pid: process.pid,
        pgid: process.pgid,
        startedAt: Date.parse(process.startedAt) || now,
        procStartTime: process.procStartTime,
        child: undefined,
        closed: Promise.resolve(),
        readySince: ready ? now : undefined,
      },
      now,
    );
    this.setState(
      ready ? "ready" : "starting",
      ready ? undefined : "adopted from a previous agent run; waiting for it to answer",
    );
    this.scheduleProbe(run);
    this.scheduleLiveness(run);
  }

  snapshot(): SupervisorSnapshot {
    const run = this.run;
    return {
      replicaId: this.options.replicaId,
      state: this.state,
      reason: this.reason,
      pid: run?.pid,
      pgid: run?.pgid,
      startedAt: run === undefined ? undefined : new Date(run.startedAt).toISOString(),
      procStartTime: run?.procStartTime,
      restarts: this.restarts,
      exitCode: this.exitCode,
      stderrTail: this.stderr.lines(),
      adopted: this.adopted,
    };
  }

  /** Everything of this replica a stop must reach: the run's group, its id in environments, its cgroup. */
  private processes(pgid: number | undefined): ReplicaProcesses {
    const { replicaId, cgroupBase } = this.options;
    const instance = this.options.command.agentEnv[AGENT_INSTANCE_ENV];
    return {
      replicaId,
      ...(instance === undefined ? {} : { instance }),
      ...(pgid === undefined ? {} : { pgid }),
      ...(cgroupBase === undefined || instance === undefined ? {} : { cgroup: replicaCgroupDir(cgroupBase, instance, replicaId) }),
    };
  }

  /** Graceful stop of the whole process group; idempotent. Ends in `stopped`. */
  stop(): Promise<void> {
    if (this.stopping !== undefined) return this.stopping;
    this.stopRequested = true;
    this.clearTimers();
    this.stopping = (async () => {
      const pgid = this.run?.pgid ?? this.lastPgid;
      this.setState("stopping", undefined);
      // Also without a group: a process the backend detached may outlive the run that started it.
      const how = await stopReplicaProcesses(this.processes(pgid), this.tuning.graceMs);
      if (how === "killed") this.log(`did not stop within ${seconds(this.tuning.graceMs)} of SIGTERM; killed`);
      this.run = undefined;
      this.lastPgid = undefined;
      this.setState("stopped", undefined);
    })();
    return this.stopping;
  }

  /**
   * Lets go of the process without stopping it (the agent shuts down and a later agent adopts it):
   * no more probes or restarts, and nothing of it keeps this process alive. Answers the backend's
   * output pipes, which someone must go on reading (`keepOutputDrained`).
   */
  detach(): Readable[] {
    this.detached = true;
    this.clearTimers();
    const child = this.run?.child;
    if (child === undefined) return [];
    child.unref();
    const pipes = [child.stdout, child.stderr].filter((pipe) => pipe !== null);
    for (const pipe of pipes) pipe.removeAllListeners("data");
    return pipes;
  }

  private launch(): void {
    if (this.stopRequested || this.detached) return;
    this.stderr.reset();
    let child: ChildProcess;
    try {
      // detached: the child leads a new process group, so a stop reaches everything it started.
      // Where a cgroup can be made, the shell enters it before it runs anything.
      const { cgroup } = this.processes(undefined);
      const shell = this.options.command.shell;
      const args = cgroup !== undefined && createReplicaCgroup(cgroup) ? ["-c", shellEnteringCgroup(cgroup), shell] : ["-c", shell];
      child = spawn("/bin/sh", args, {
        detached: true,
        env: this.options.command.env,
        ...(this.options.cwd === undefined ? {} : { cwd: this.options.cwd }),
        stdio: ["ignore", "pipe", "pipe"],
      });
    } catch (error) {
      this.setFailed(`could not start /bin/sh: ${message(error)}`, null);
      return;
    }
    const pid = child.pid;
    if (pid === undefined) {
      child.once("error", (error) => this.setFailed(`could not start /bin/sh: ${error.message}`, null));
      return;
    }
    // After a successful spawn, errors (a failed kill) are not exits; exits arrive as "exit".
    child.on("error", () => {});
    child.stdout?.on("data", (chunk: Buffer) => this.stdout.push(chunk));
    child.stderr?.on("data", (chunk: Buffer) => this.stderr.push(chunk));
    guardOutput(pid, [child.stdout, child.stderr].filter((pipe) => pipe !== null));
    const now = this.clock.now();
    const run = this.watch(
      {
        pid,
        pgid: pid,
        startedAt: now,
        procStartTime: readProcStat(pid)?.startTime,
        child,
        closed: new Promise((resolve) => child.once("close", () => resolve())),
        readySince: undefined,
      },
      now,
    );
    child.once("exit", (code, signal) => void this.onExit(run, code, signal));
    this.log(`started pid ${pid}${this.restarts > 0 ? ` (restart ${this.restarts})` : ""}`);
    this.setState(
      "starting",
      this.lastExit === undefined ? "starting the backend" : `restarted after: ${this.lastExit}`,
    );
    this.scheduleProbe(run);
  }

  /** Makes a process (spawned, or adopted when `child` is undefined) the current run, from `now` on. */
  private watch(
    process: Pick<Run, "pid" | "pgid" | "startedAt" | "procStartTime" | "child" | "closed" | "readySince">,
    now: number,
  ): Run {
    const run: Run = {
      ...process,
      watchedSince: now,
      unreadySince: undefined,
      hungReason: undefined,
      longestReadyMs: 0,
      probeFailures: 0,
      startingProbes: 0,
      wasReady: process.readySince !== undefined,
      ended: false,
    };
    this.run = run;
    this.lastPgid = run.pgid;
    this.adopted = process.child === undefined;
    return run;
  }

  private async onExit(run: Run, code: number | null, signal: NodeJS.Signals | null): Promise<void> {
    if (run.ended) return;
    run.ended = true;
    this.clearTimer("probe");
    this.clearTimer("liveness");
    if (this.detached) return;
    // Output written just before the exit may arrive after the exit event.
    await Promise.race([run.closed, new Promise((resolve) => setTimeout(resolve, 200))]);
    this.stderr.flush();
    this.stdout.flush();
    if (this.run === run) this.run = undefined;
    if (this.stopRequested || this.detached) return;
    // Children the leader left behind (in its group or detached from it) would hold the port and GPU memory the restart needs.
    signalReplica(this.processes(run.pgid), "SIGKILL");

    const now = this.clock.now();
    const readyMs = Math.max(run.longestReadyMs, run.readySince === undefined ? 0 : now - run.readySince);
    if (readyMs >= this.tuning.stableAfterMs) this.failures = 0;
    this.failures++;
    const own = run.child !== undefined;
    this.exitCode = own ? code : null;
    const exited = own
      ? describeExit(code, signal, tellingLine(this.stderr.lines()))
      : "the backend (adopted from a previous agent run) exited; its exit code is unknown";
    const described = run.hungReason === undefined ? exited : `${run.hungReason}; stopped it (${exited})`;
    this.lastExit = described;
    this.log(described);
    const max = this.tuning.maxConsecutiveFailures;
    if (own && (code === 126 || code === 127)) {
      // The shell could not run the command at all: restarting cannot help.
      this.setFailed(described, code);
    } else if (this.failures >= max) {
      this.setFailed(`${described} (${this.failures} failures in a row; not restarting)`, this.exitCode);
    } else {
      const wait = restartDelayMs(this.failures, this.tuning.backoffInitialMs, this.tuning.backoffMaxMs);
      this.setState(
        "starting",
        `${described}; restarting in ${seconds(wait)} (failure ${this.failures} of ${max})`,
      );
      this.timers.restart = this.clock.setTimeout(() => {
        this.timers.restart = undefined;
        this.restarts++;
        this.launch();
      }, wait);
    }
  }

  private scheduleProbe(run: Run): void {
    this.clearTimer("probe");
    const { probeInitialMs, probeIntervalMs, readyProbeIntervalMs } = this.tuning;
    const ms =
      this.state === "ready"
        ? readyProbeIntervalMs
        : Math.min(probeIntervalMs, probeInitialMs * 2 ** Math.min(run.startingProbes++, 30));
    this.timers.probe = this.clock.setTimeout(() => {
      this.timers.probe = undefined;
      void this.probe(run);
    }, ms);
  }

  private async probe(run: Run): Promise<void> {
    if (!this.isCurrent(run) || run.hungReason !== undefined) return;
    let result: ProbeResult;
    try {
      result = await this.options.probe(AbortSignal.timeout(this.tuning.probeTimeoutMs));
    } catch (error) {
      result = { ok: false, reason: message(error) };
    }
    if (!this.isCurrent(run) || run.hungReason !== undefined) return;
    const now = this.clock.now();
    if (result.ok) {
      run.probeFailures = 0;
      if (this.state !== "ready") {
        run.readySince = now;
        run.wasReady = true;
        this.log("ready");
        this.setState("ready", undefined);
      }
    } else if (this.state === "ready") {
      run.probeFailures++;
      if (run.probeFailures >= this.tuning.unreadyAfterFailures) {
        run.longestReadyMs = Math.max(run.longestReadyMs, now - (run.readySince ?? now));
        run.readySince = undefined;
        run.unreadySince = now;
        this.log(`stopped answering: ${result.reason}`);
        this.setState("starting", `stopped answering: ${result.reason}`);
      }
    } else {
      // Visible progress (e.g. a model download) is not a hang: the silence clock starts over.
      if (result.progress === true) {
        if (run.wasReady) run.unreadySince = now;
        else run.watchedSince = now;
      }
      const limit = run.wasReady ? this.tuning.unresponsiveTimeoutMs : this.tuning.startupTimeoutMs;
      const silentMs = now - (run.wasReady ? (run.unreadySince ?? now) : run.watchedSince);
      if (silentMs >= limit) {
        this.stopHung(
          run,
          run.wasReady
            ? `stopped answering for ${seconds(silentMs)} (limit ${seconds(limit)}): ${result.reason}`
            : `not ready and no progress for ${seconds(silentMs)} (limit ${seconds(limit)}): ${result.reason}`,
        );
        return;
      }
      // Progress while starting rides on the next heartbeat; only state changes notify.
      this.reason = run.wasReady
        ? `stopped answering: ${result.reason}`
        : this.lastExit === undefined
          ? `waiting for the backend to answer: ${result.reason}`
          : `restarted after: ${this.lastExit}; waiting for it to answer: ${result.reason}`;
    }
    this.scheduleProbe(run);
  }

  /**
   * Stops a run that hung (alive, never or no longer answering). Its exit then takes the usual path:
   * a failed run, restarted with backoff, `failed` after too many in a row.
   */
  private stopHung(run: Run, reason: string): void {
    run.hungReason = reason;
    this.log(`${reason}; stopping it`);
    this.reason = `${reason}; stopping it`;
    void stopReplicaProcesses(this.processes(run.pgid), this.tuning.graceMs);
  }

  private scheduleLiveness(run: Run): void {
    this.timers.liveness = this.clock.setTimeout(() => {
      this.timers.liveness = undefined;
      if (!this.isCurrent(run)) return;
      const alive =
        isAlive(run.pid) &&
        (run.procStartTime === undefined || readProcStat(run.pid)?.startTime === run.procStartTime);
      if (alive) this.scheduleLiveness(run);
      else void this.onExit(run, null, null);
    }, this.tuning.livenessIntervalMs);
  }

  private isCurrent(run: Run): boolean {
    return !run.ended && this.run === run && !this.stopRequested && !this.detached;
  }

  private setFailed(reason: string, code: number | null | undefined): void {
    this.clearTimers();
    this.exitCode = code;
    this.log(`failed: ${reason}`);
    this.setState("failed", reason);
  }

  private setState(state: SupervisorState, reason: string | undefined): void {
    this.state = state;
    this.reason = reason;
    this.options.onChange?.(this.snapshot());
  }

  private clearTimer(name: TimerName): void {
    const handle = this.timers[name];
    if (handle !== undefined) this.clock.clearTimeout(handle);
    this.timers[name] = undefined;
  }

  private clearTimers(): void {
    this.clearTimer("restart");
    this.clearTimer("probe");
    this.clearTimer("liveness");
  }

  private log(line: string): void {
    this.options.log?.(`replica ${this.options.label ?? this.options.replicaId}: ${line}`);
  }
}
