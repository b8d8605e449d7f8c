import { createServer } from "node:net";
import { hostname } from "node:os";
import {
  type Assignment,
  type Gpu,
  type HeartbeatRequest,
  type HeartbeatResponse,
  HeartbeatResponseSchema,
  type HostInfo,
  type ReplicaReport,
  type ReplicaRuntimeState,
} from "@inferencekey/core";
import { createHash } from "node:crypto";
import { resolve } from "node:path";
import { type FrontCertificate, loadOrCreateFrontCertificate } from "./certificate";
import { BACKEND_HOST, type BuiltCommand, buildCommand, defaultEnvsDir } from "./command";
import { type FrontLimits, ReplicaFront } from "./front";
import { discoverGpus } from "./gpu-discovery";
import { checkReady, type ProbeTarget } from "./health";
import { AGENT_VERSION, defaultAdvertiseHost, describeHost } from "./host-info";
import { PeakWindow, scrapeLoad } from "./metrics";
import { OllamaModelPull } from "./ollama-pull";
import { isAlive, type ReplicaProcesses, readProcStat, stopGroup, stopReplicaProcesses } from "./processes";
import { ownCgroupDir, removeEmptyReplicaCgroups, replicaCgroupDir } from "./replica-cgroup";
import { type RecordedProcess, readState, StateFile } from "./state-file";
import {
  type Clock,
  DEFAULT_TUNING,
  keepOutputDrained,
  ReplicaSupervisor,
  restartDelayMs,
  type SupervisorTuning,
} from "./supervisor";

export const WORKER_TOKEN_REJECTED = "worker token rejected: wrong or revoked (was the worker deregistered?)";

/** The control plane answered 401: the token is wrong, or the worker was deregistered and its token revoked. */
export class WorkerTokenRejectedError extends Error {
  override readonly name = "WorkerTokenRejectedError";
  constructor(readonly detail?: string) {
    super(
      detail === undefined
        ? WORKER_TOKEN_REJECTED
        : `${WORKER_TOKEN_REJECTED}; the control plane said: ${detail}`,
    );
  }
}

export interface AgentOptions {
  /** The platform's base URL; heartbeats go to `{baseUrl}/agent/v1/heartbeat`. */
  baseUrl: string;
  /** The worker token, `ik_wrk_...`. */
  token: string;
  /** Where `replicas.json` lives (the processes this agent started, for a restarted agent to find). */
  stateDir: string;
  /** The address the platform reaches this box on; replica fronts listen on it, backends on loopback (default: first non-loopback IPv4). */
  advertiseHost?: string;
  /** For the control plane calls only (backends are probed with the global fetch). */
  fetch?: typeof fetch;
  log?: (line: string) => void;
  /** Overrides the interval the control plane asks for. */
  heartbeatIntervalMs?: number;
  /** Per heartbeat call (default 10 s). */
  heartbeatTimeoutMs?: number;
  /** Retry backoff while the control plane is unreachable: doubling from initial to max, with jitter. */
  retryInitialMs?: number;
  retryMaxMs?: number;
  /** Skips GPU discovery (nvidia-smi): these GPUs, for good. */
  gpus?: Gpu[];
  /** How GPUs are discovered (default: nvidia-smi). Re-run every `gpuRefreshMs`, so a GPU that drops off shows. */
  discoverGpus?: () => Promise<Gpu[]>;
  /** Default 60 s. */
  gpuRefreshMs?: number;
  /** Versioned backend environments (default INFERENCEKEY_BACKEND_ENVS, else ~/.inferencekey/envs). */
  envsDir?: string;
  /** The environment backends inherit (default: this process's; INFERENCEKEY_* variables are never passed). */
  env?: NodeJS.ProcessEnv;
  /** Working directory of backends (default: this process's). */
  cwd?: string;
  /** Variables set for every backend by whoever runs the agent (not filtered like `env`). */
  backendEnv?: Record<string, string>;
  /** Put each replica in its own cgroup v2 where the hierarchy is writable (default true). */
  useCgroups?: boolean;
  /** Restart, probe and stop timings of every replica. */
  supervisor?: Partial<SupervisorTuning>;
  clock?: Clock;
  /** Forward backend output lines to `log` (default true). */
  logBackendOutput?: boolean;
  /** How often each ready replica's load is sampled between heartbeats (default 1 s; 0 disables). */
  loadSampleMs?: number;
  /** The trailing window whose peak load each heartbeat reports (default 60 s: at least one controller tick). */
  peakWindowMs?: number;
  /** Header size and time limits of the replica fronts. */
  front?: Partial<FrontLimits>;
}

export interface AgentStopOptions {
  /**
   * true (default): stop every replica gracefully (SIGTERM to its process group, grace period, SIGKILL).
   * false: leave them serving; the next agent with the same stateDir adopts or stops them.
   */
  stopReplicas?: boolean;
}

export interface AgentHandle {
  /** Settles when the agent ends: resolves after `stop()`, rejects with WorkerTokenRejectedError on a 401. */
  readonly done: Promise<void>;
  stop(options?: AgentStopOptions): Promise<void>;
  /** The replicas as the next heartbeat would report them (without load). */
  replicas(): ReplicaReport[];
  /**
   * Heartbeats soon (at most one early heartbeat per 250 ms) instead of at the next interval: for a
   * control plane in the same process that knows it just changed this worker's assignments.
   */
  heartbeatNow(): void;
}

interface Entry {
  assignment: Assignment;
  /** The loopback port of the backend, behind the front on the assigned address. */
  backendPort?: number;
  /** The authenticating TLS front on the assigned address, while the replica runs. */
  front?: Promise<ReplicaFront | undefined>;
  /** Why the front is not listening yet (its port is taken; retried), reported while the backend waits. */
  frontProblem?: string;
  supervisor?: ReplicaSupervisor;
  hash?: string;
  /** Without a supervisor: a replica that cannot start (its command cannot be built) or is stopped. */
  fixed?: { state: ReplicaRuntimeState; reason?: string };
  stopping?: Promise<void>;
  /** No longer assigned: being stopped, then forgotten. */
  removing?: boolean;
  /** Peak running + waiting over the trailing window, fed by the sampler and by each heartbeat's scrape. */
  peak?: PeakWindow;
  /** Not started: another program holds the assigned port; reported so the platform assigns another. */
  portUnavailable?: boolean;
  /** The stop of the backend this replica had before its port turned out held (an adopted one). */
  previousStop?: Promise<void>;
}

/** Early heartbeats (reporting a change) are at least this far apart. */
const EARLY_HEARTBEAT_SPACING_MS = 250;

/** Names an agent by its state directory: stable across its restarts, distinct between agents on one box. */
export function agentInstance(stateDir: string): string {
  return createHash("sha256").update(resolve(stateDir)).digest("hex").slice(0, 16);
}

/** Retry delay after n failed heartbeats: doubling, capped, with jitter so a fleet does not retry in step. */
export function retryDelayMs(
  failures: number,
  initialMs: number,
  maxMs: number,
  random: () => number = Math.random,
): number {
  const base = restartDelayMs(failures, initialMs, maxMs);
  return Math.round(base / 2 + (random() * base) / 2);
}

const describeError = (error: unknown): string => {
  if (!(error instanceof Error)) return String(error);
  const code = (error.cause as { code?: unknown } | undefined)?.code;
  return typeof code === "string" ? `${error.message} (${code})` : error.message;
};

/** How the agent's lines name a replica: the workload first (people know it), then the replica id. */
export function replicaLabel(assignment: Pick<Assignment, "project" | "workload" | "replica_id">): string {
  return `${assignment.project}/${assignment.workload} ${assignment.replica_id}`;
}

/** A replica found in the state file: named as replicaLabel did when it was recorded. */
function recordedLabel(record: RecordedProcess): string {
  return record.workload === undefined ? record.replica_id : `${record.workload} ${record.replica_id}`;
}

/** The agent's own probes (readiness, load, ollama pulls) go to the backend directly, not through the front. */
function probeTarget(assignment: Assignment, backendPort: number): ProbeTarget {
  const { backend, model, secret } = assignment;
  return { backend, host: BACKEND_HOST, port: backendPort, model, secret };
}

/** A loopback port free right now, for a backend to bind. */
export function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, BACKEND_HOST, () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address !== null ? resolve(address.port) : reject(new Error("no port"))));
    });
  });
}

/** A recorded process is ours if its pid is alive and still the process we started (pid reuse). */
function recordedAlive(record: RecordedProcess): boolean {
  if (!isAlive(record.pid)) return false;
  const stat = readProcStat(record.pid);
  if (stat === undefined) return true;
  return (
    stat.pgrp === record.pgid &&
    (record.proc_start_time === undefined || stat.startTime === record.proc_start_time)
  );
}

/**
 * Whether the recorded group id still names our group. A group id cannot be taken while any member
 * lives, so it is ours unless a different process now leads a group with that id.
 */
function groupStillOurs(record: RecordedProcess): boolean {
  const leader = readProcStat(record.pgid);
  if (leader === undefined || leader.state === "Z") return true;
  return record.pid === record.pgid && leader.startTime === record.proc_start_time;
}

function closeFront(entry: Entry): Promise<void> {
  const front = entry.front;
  entry.front = undefined;
  return front === undefined ? Promise.resolve() : front.then((opened) => opened?.close());
}

class Agent {
  readonly done: Promise<void>;
  private resolveDone!: () => void;
  private rejectDone!: (error: Error) => void;
  private readonly log: (line: string) => void;
  private readonly stateFile: StateFile;
  private readonly entries = new Map<string, Entry>();
  /** Processes of a previous agent run, alive, waiting for the first answer to be adopted or stopped. */
  private candidates: RecordedProcess[] = [];
  /** Processes of a previous run being stopped: still recorded until they are gone. */
  private readonly leftovers = new Map<number, RecordedProcess>();
  /** Port -> the stop that frees it: a replica starting on that port waits for it. */
  private readonly releases = new Map<number, Promise<void>>();
  private readonly background = new Set<Promise<unknown>>();
  private host!: HostInfo;
  private certificate!: FrontCertificate;
  private advertise = "";
  private gpus: Gpu[] = [];
  private gpusDiscoveredAt = 0;
  private gpuDiscovery: Promise<void> | undefined;
  private stopping = false;
  private finishing: Promise<void> | undefined;
  private sleeping: { wake: () => void; wakeable: boolean } | undefined;
  private inflight: AbortController | undefined;
  private lastHeartbeatAt = 0;
  /** A change to report arrived after the last heartbeat took its snapshot. */
  private changed = false;
  private loop: Promise<void> = Promise.resolve();
  private stopReplicasOnStop = true;
  private sampler: ReturnType<typeof setTimeout> | undefined;
  private sampling = false;
  /** Where replicas' cgroups go: beside this agent's own, when cgroup v2 is there (writability is tried per replica). */
  private readonly cgroupBase: string | undefined;
  /** Tags this agent's backends (with the replica id) so a stop never reaches another agent's. Stable across restarts. */
  private readonly instance: string;

  constructor(private readonly options: AgentOptions) {
    this.cgroupBase = options.useCgroups === false ? undefined : ownCgroupDir();
    this.instance = agentInstance(options.stateDir);
    this.done = new Promise<void>((resolve, reject) => {
      this.resolveDone = resolve;
      this.rejectDone = reject;
    });
    // A caller that never awaits `done` must not get an unhandled rejection.
    this.done.catch(() => {});
    this.log = options.log ?? ((line) => console.log(line));
    this.stateFile = new StateFile(options.stateDir, (problem) => this.log(problem));
  }

  private get url(): string {
    return `${this.options.baseUrl.replace(/\/+$/, "")}/agent/v1/heartbeat`;
  }

  private get tuning(): SupervisorTuning {
    return { ...DEFAULT_TUNING, ...this.options.supervisor };
  }

  async init(): Promise<void> {
    const gpus = this.options.gpus ?? (await (this.options.discoverGpus ?? discoverGpus)());
    const advertise = this.options.advertiseHost ?? defaultAdvertiseHost();
    this.advertise = advertise;
    this.gpus = gpus;
    this.gpusDiscoveredAt = Date.now();
    this.certificate = await loadOrCreateFrontCertificate(this.options.stateDir, {
      commonName: `inferencekey replica front ${hostname()}`,
      now: new Date(),
      log: this.log,
    });
    this.host = this.describe(gpus);
    const gpuText =
      gpus.length === 0
        ? "no GPU (CPU only)"
        : `${gpus.length} GPU(s): ${gpus.map((g) => g.name).join(", ")}`;
    this.log(
      `inferencekey-agent ${AGENT_VERSION}: control plane ${this.options.baseUrl}, advertise ${advertise}, ${gpuText}, ` +
        `replica front certificate sha256 ${this.certificate.sha256}`,
    );

    const { replicas, problem } = await readState(this.options.stateDir);
    if (problem !== undefined) this.log(problem);
    // Recorded replicas that still run keep theirs (not empty); the rest are leftovers of a hard end.
    if (this.cgroupBase !== undefined) removeEmptyReplicaCgroups(this.cgroupBase, this.instance);
    for (const record of replicas) {
      if (recordedAlive(record)) {
        this.candidates.push(record);
        this.log(
          `found replica ${recordedLabel(record)} (pid ${record.pid}) from a previous run; adopting it if it is still assigned`,
        );
      } else if (groupStillOurs(record)) {
        // The leader is gone but its children may not be: they would hold the port and GPU memory.
        await stopReplicaProcesses(this.processesOf(record), 2_000);
      }
    }
    await this.persist();
  }

  start(): void {
    this.scheduleSample();
    this.loop = this.runLoop().then(
      () => this.finish(this.stopReplicasOnStop, undefined),
      (error: unknown) => {
        const rejected = error instanceof WorkerTokenRejectedError ? error : new Error(describeError(error));
        this.log(rejected.message);
        // A deregistered worker's replicas have no one to serve: stop them rather than orphan them.
        return this.finish(true, rejected);
      },
    );
  }

  stop(options: AgentStopOptions = {}): Promise<void> {
    if (!this.stopping) {
      this.stopping = true;
      this.stopReplicasOnStop = options.stopReplicas ?? true;
      this.inflight?.abort();
      this.sleeping?.wake();
    }
    return this.loop;
  }

  private async runLoop(): Promise<void> {
    let failures = 0;
    while (!this.stopping) {
      let delay: number;
      try {
        const response = await this.heartbeat();
        if (failures > 0) this.log(`control plane reachable again after ${failures} failed heartbeat(s)`);
        failures = 0;
        await this.apply(response);
        delay = this.options.heartbeatIntervalMs ?? response.heartbeat_interval_seconds * 1000;
        // A change during the heartbeat or while applying its answer (a replica just spawned) is
        // reported as soon as the early-heartbeat spacing allows, not a whole interval later.
        if (this.changed) delay = Math.min(delay, this.earlyHeartbeatWaitMs());
      } catch (error) {
        if (this.stopping) break;
        if (error instanceof WorkerTokenRejectedError) throw error;
        failures++;
        delay = retryDelayMs(
          failures,
          this.options.retryInitialMs ?? 1_000,
          this.options.retryMaxMs ?? 30_000,
        );
        const running = [...this.entries.values()].filter(
          (e) => e.supervisor !== undefined && !e.removing,
        ).length;
        this.log(
          `heartbeat failed: ${describeError(error)}; retrying in ${(delay / 1000).toFixed(1)} s` +
            (running > 0 ? ` (${running} replica(s) keep serving)` : ""),
        );
      }
      await this.sleep(delay, failures === 0);
    }
  }

  private get peakWindowMs(): number {
    return this.options.peakWindowMs ?? 60_000;
  }

  /** Samples every ready replica's load on a timer; a round still in flight makes the next one skip. */
  private scheduleSample(): void {
    const every = this.options.loadSampleMs ?? 1_000;
    if (every <= 0 || this.stopping) return;
    this.sampler = setTimeout(() => {
      if (!this.sampling) {
        this.sampling = true;
        void this.sampleLoads().finally(() => {
          this.sampling = false;
        });
      }
      this.scheduleSample();
    }, every);
    this.sampler.unref?.();
  }

  private async sampleLoads(): Promise<void> {
    await Promise.all(
      [...this.entries.values()].map(async (entry) => {
        if (entry.removing || entry.backendPort === undefined || entry.supervisor?.snapshot().state !== "ready") return;
        const load = await scrapeLoad(probeTarget(entry.assignment, entry.backendPort));
        if (load !== undefined) this.recordPeak(entry, load.running_requests + load.waiting_requests);
      }),
    );
  }

  private recordPeak(entry: Entry, requests: number): number {
    entry.peak ??= new PeakWindow(this.peakWindowMs);
    const now = Date.now();
    entry.peak.add(now, requests);
    return entry.peak.peak(now) ?? requests;
  }

  /** Sleeps; a replica state change ends a `wakeable` sleep early (not while the control plane is down). */
  private sleep(ms: number, wakeable: boolean): Promise<void> {
    if (this.stopping) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => wake(), ms);
      const wake = () => {
        clearTimeout(timer);
        this.sleeping = undefined;
        resolve();
      };
      this.sleeping = { wake, wakeable };
    });
  }

  /** Reports a change soon, at most one early heartbeat per 250 ms. */
  nudge(): void {
    this.changed = true;
    // No sleep to end: a heartbeat is in flight and runLoop sees `changed` after it.
    const sleeping = this.sleeping;
    if (sleeping === undefined || !sleeping.wakeable) return;
    sleeping.wakeable = false;
    setTimeout(() => {
      if (this.sleeping === sleeping) sleeping.wake();
    }, this.earlyHeartbeatWaitMs());
  }

  private earlyHeartbeatWaitMs(): number {
    return Math.max(0, this.lastHeartbeatAt + EARLY_HEARTBEAT_SPACING_MS - Date.now());
  }

  /** Re-discovers GPUs now and then, in the background; a change shows in the next heartbeat. */
  private refreshGpus(): void {
    if (this.options.gpus !== undefined || this.gpuDiscovery !== undefined) return;
    if (Date.now() - this.gpusDiscoveredAt < (this.options.gpuRefreshMs ?? 60_000)) return;
    this.gpusDiscoveredAt = Date.now();
    this.gpuDiscovery = (this.options.discoverGpus ?? discoverGpus)()
      .then((gpus) => {
        const describe = (list: Gpu[]) => list.map((g) => `${g.index}:${g.name}:${g.memory_mb}:${g.uuid ?? ""}`).join(",");
        if (describe(gpus) === describe(this.gpus)) return;
        const names = (list: Gpu[]) => (list.length === 0 ? "none" : list.map((g) => `${g.index} ${g.name}`).join(", "));
        this.log(`GPUs changed: ${names(this.gpus)} -> ${names(gpus)}`);
        this.gpus = gpus;
        this.host = this.describe(gpus);
        this.nudge();
      })
      .catch((error: unknown) => this.log(`GPU discovery failed: ${error instanceof Error ? error.message : String(error)}`))
      .finally(() => {
        this.gpuDiscovery = undefined;
      });
  }

  private describe(gpus: Gpu[]): HostInfo {
    return { ...describeHost(this.advertise, gpus), front_certificate_sha256: this.certificate.sha256 };
  }

  private async heartbeat(): Promise<HeartbeatResponse> {
    this.refreshGpus();
    this.changed = false;
    const body: HeartbeatRequest = { host: this.host, replicas: await this.reports(true) };
    const controller = new AbortController();
    this.inflight = controller;
    this.lastHeartbeatAt = Date.now();
    let response: Response;
    let text: string;
    try {
      response = await (this.options.fetch ?? fetch)(this.url, {
        method: "POST",
        headers: { authorization: `Bearer ${this.options.token}`, "content-type": "application/json" },
        body: JSON.stringify(body),
        signal: AbortSignal.any([
          controller.signal,
          AbortSignal.timeout(this.options.heartbeatTimeoutMs ?? 10_000),
        ]),
      });
      text = await response.text();
    } finally {
      this.inflight = undefined;
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    const said = (json as { error?: { message?: unknown } } | undefined)?.error?.message;
    const detail = typeof said === "string" ? said : undefined;
    if (response.status === 401) throw new WorkerTokenRejectedError(detail);
    if (!response.ok)
      throw new Error(
        `POST ${this.url} answered ${response.status}${detail === undefined ? "" : `: ${detail}`}`,
      );
    const parsed = HeartbeatResponseSchema.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new Error(
        `POST ${this.url} answered an unexpected body${issue === undefined ? "" : ` (${issue.path.join(".")}: ${issue.message})`}`,
      );
    }
    return parsed.data;
  }

  reports(withLoad: false): ReplicaReport[];
  reports(withLoad: true): Promise<ReplicaReport[]>;
  reports(withLoad: boolean): ReplicaReport[] | Promise<ReplicaReport[]> {
    const reports: ReplicaReport[] = [];
    for (const [id, entry] of this.entries) {
      const { port } = entry.assignment;
      if (entry.supervisor === undefined) {
        const fixed = entry.fixed ?? { state: "stopped" };
        reports.push({
          replica_id: id,
          state: fixed.state,
          port,
          restarts: 0,
          ...(fixed.reason === undefined ? {} : { reason: fixed.reason }),
          ...(entry.portUnavailable ? { port_unavailable: true } : {}),
        });
        continue;
      }
      const s = entry.supervisor.snapshot();
      const reason = entry.frontProblem ?? s.reason;
      reports.push({
        replica_id: id,
        state: s.state,
        port,
        restarts: s.restarts,
        ...(reason === undefined ? {} : { reason: reason.slice(0, 2000) }),
        ...(s.pid === undefined ? {} : { pid: s.pid }),
        ...(s.exitCode === undefined ? {} : { exit_code: s.exitCode }),
        ...(s.state === "failed" && s.stderrTail.length > 0 ? { stderr_tail: s.stderrTail.slice(-40) } : {}),
      });
    }
    const capped = reports.slice(0, 256);
    if (!withLoad) return capped;
    return Promise.all(
      capped.map(async (report) => {
        const entry = this.entries.get(report.replica_id);
        if (report.state !== "ready" || entry?.backendPort === undefined) return report;
        const load = await scrapeLoad(probeTarget(entry.assignment, entry.backendPort));
        if (load === undefined) return report;
        const peak = this.recordPeak(entry, load.running_requests + load.waiting_requests);
        return { ...report, load: { ...load, peak_requests: peak, peak_window_seconds: this.peakWindowMs / 1000 } };
      }),
    );
  }

  private async apply(response: HeartbeatResponse): Promise<void> {
    const listed = new Map(response.assignments.map((a) => [a.replica_id, a]));
    await this.decideCandidates(listed);
    for (const assignment of response.assignments) {
      const id = assignment.replica_id;
      const entry = this.entries.get(id);
      if (assignment.desired === "running") {
        // A new generation of a slot is simply a new replica: the control plane keeps the old one
        // assigned until the new one is ready, then marks it stopped.
        if (entry === undefined) await this.launch(assignment);
        // The platform answered the port another program holds with a new one: start there (and
        // only there: the held port is not tried again).
        else if (entry.portUnavailable) {
          if (assignment.port !== entry.assignment.port) await this.launch(assignment);
        }
        // Stopped on request, then wanted again (a scale-up right after a scale-down recreates the
        // slot under the same id): start it afresh once the stop has freed the port.
        else if (!entry.removing && (entry.stopping !== undefined || entry.fixed?.state === "stopped")) await this.launch(assignment);
      } else if (entry === undefined) {
        this.entries.set(id, { assignment, fixed: { state: "stopped" } });
      } else if (entry.supervisor !== undefined) {
        void this.stopEntry(entry);
      } else if (entry.fixed?.state === "failed") {
        entry.fixed = { state: "stopped" };
      }
    }
    for (const [id, entry] of this.entries) {
      if (listed.has(id) || entry.removing) continue;
      if (entry.supervisor === undefined) {
        this.entries.delete(id);
        continue;
      }
      entry.removing = true;
      void this.stopEntry(entry).then(() => {
        if (this.entries.get(id) === entry) this.entries.delete(id);
        void this.persist();
      });
    }
  }

  private async decideCandidates(listed: Map<string, Assignment>): Promise<void> {
    if (this.candidates.length === 0) return;
    const candidates = this.candidates;
    this.candidates = [];
    await Promise.all(
      candidates.map(async (record) => {
        const assignment = listed.get(record.replica_id);
        // A record without a backend port predates the front: its backend faces the network itself.
        const built =
          assignment?.desired === "running" && record.backend_port !== undefined
            ? this.build(assignment, record.backend_port)
            : undefined;
        let why: string | undefined;
        if (assignment === undefined) why = "no longer assigned";
        else if (assignment.desired === "stopped") why = "assigned as stopped";
        else if (built === undefined || !built.ok || built.command.hash !== record.command_hash)
          why = "its command changed";
        else if (!recordedAlive(record)) why = "it exited";
        else if (this.entries.has(record.replica_id)) why = "already running";
        if (why === undefined && assignment !== undefined && built?.ok && record.backend_port !== undefined) {
          const backendPort = record.backend_port;
          const probe = await checkReady(probeTarget(assignment, backendPort), { signal: AbortSignal.timeout(2_000) });
          const supervisor = this.supervise(assignment, built.command, backendPort);
          const entry: Entry = { assignment, backendPort, supervisor, hash: built.command.hash };
          this.entries.set(assignment.replica_id, entry);
          supervisor.adopt(
            {
              pid: record.pid,
              pgid: record.pgid,
              startedAt: record.started_at,
              ...(record.proc_start_time === undefined ? {} : { procStartTime: record.proc_start_time }),
            },
            probe.ok,
          );
          this.log(`adopted replica ${replicaLabel(assignment)} (pid ${record.pid}) from a previous agent run`);
          // Adopted first, so that a front that cannot listen stops the adopted process with the replica.
          entry.front = this.openFront(assignment, built.command, backendPort);
          await entry.front;
          return;
        }
        this.log(
          `stopping replica ${assignment === undefined ? recordedLabel(record) : replicaLabel(assignment)} (pid ${record.pid}) left by a previous agent run: ${why}`,
        );
        const entry: Entry | undefined =
          assignment?.desired === "stopped" ? { assignment, fixed: { state: "stopping" } } : undefined;
        if (entry !== undefined && assignment !== undefined) this.entries.set(assignment.replica_id, entry);
        this.leftovers.set(record.pid, record);
        // A replica that already runs again under this agent keeps its processes: only the old group goes.
        const stopped = this.entries.has(record.replica_id)
          ? stopGroup(record.pgid, this.tuning.graceMs)
          : stopReplicaProcesses(this.processesOf(record), this.tuning.graceMs);
        const release = stopped.then(() => {
          this.leftovers.delete(record.pid);
          if (entry !== undefined) entry.fixed = { state: "stopped" };
          void this.persist();
          this.nudge();
        });
        this.holdPort(record.port, release);
      }),
    );
  }

  /** Everything of a recorded (previous run's) replica a stop must reach. */
  private processesOf(record: RecordedProcess): ReplicaProcesses {
    return {
      replicaId: record.replica_id,
      instance: this.instance,
      pgid: record.pgid,
      ...(this.cgroupBase === undefined ? {} : { cgroup: replicaCgroupDir(this.cgroupBase, this.instance, record.replica_id) }),
    };
  }

  private build(assignment: Assignment, backendPort: number) {
    return buildCommand(assignment, {
      backendPort,
      envsDir: this.options.envsDir ?? defaultEnvsDir(this.options.env ?? process.env),
      baseEnv: this.options.env ?? process.env,
      instance: this.instance,
      ...(this.options.backendEnv === undefined ? {} : { backendEnv: this.options.backendEnv }),
    });
  }

  private async launch(assignment: Assignment): Promise<void> {
    const id = assignment.replica_id;
    let backendPort: number;
    try {
      backendPort = await freeLoopbackPort();
    } catch (error) {
      this.entries.set(id, { assignment, fixed: { state: "failed", reason: `no free loopback port for the backend: ${describeError(error)}` } });
      this.nudge();
      return;
    }
    const built = this.build(assignment, backendPort);
    if (!built.ok) {
      this.log(`replica ${replicaLabel(assignment)} cannot start: ${built.reason}`);
      this.entries.set(id, { assignment, fixed: { state: "failed", reason: built.reason } });
      this.nudge();
      return;
    }
    // A process this replica ran before moving off a held port (an adopted backend) is gone before
    // the new one starts: its stop ends every process carrying the replica's id, which the new one has too.
    const previous = this.entries.get(id)?.previousStop;
    const supervisor = this.supervise(assignment, built.command, backendPort);
    const entry: Entry = { assignment, backendPort, supervisor, hash: built.command.hash };
    this.entries.set(id, entry);
    this.log(
      `starting replica ${replicaLabel(assignment)} (slot ${assignment.slot} generation ${assignment.generation}` +
        ` on ${assignment.host}:${assignment.port}, backend on ${BACKEND_HOST}:${backendPort}): ${built.command.shell}`,
    );
    const start = () => {
      if (this.entries.get(id) !== entry || this.stopping || entry.stopping !== undefined) return;
      entry.front = this.openFront(assignment, built.command, backendPort);
      void entry.front.then((front) => {
        if (front !== undefined && this.entries.get(id) === entry && entry.stopping === undefined) supervisor.start();
      });
    };
    const release = this.releases.get(assignment.port);
    if (release === undefined && previous === undefined) start();
    else void Promise.all([release, previous]).then(start);
  }

  /**
   * Listens on the assigned address for the replica; its backend starts only once this succeeds.
   * A port another program holds (EADDRINUSE) is reported `port_unavailable`, so that the platform
   * assigns another port and the replica starts there. Any other error is retried with the
   * backend's backoff, then the replica is failed with the reason.
   */
  private async openFront(assignment: Assignment, command: BuiltCommand, backendPort: number): Promise<ReplicaFront | undefined> {
    const id = assignment.replica_id;
    const entry = this.entries.get(id);
    const current = () => entry !== undefined && this.entries.get(id) === entry && entry.stopping === undefined && !this.stopping;
    const { maxConsecutiveFailures, backoffInitialMs, backoffMaxMs } = this.tuning;
    for (let attempt = 1; ; attempt++) {
      try {
        const front = await ReplicaFront.listen({
          host: assignment.host,
          port: assignment.port,
          certificate: this.certificate,
          secret: assignment.secret,
          backendPort,
          ...(command.backendAuthorization === undefined ? {} : { backendAuthorization: command.backendAuthorization }),
          ...(this.options.front === undefined ? {} : { limits: this.options.front }),
          log: this.log,
        });
        if (entry !== undefined) delete entry.frontProblem;
        if (current()) return front;
        await front.close();
        return undefined;
      } catch (error) {
        // Our own previous process on that port was waited for (releases): another program holds it.
        if ((error as NodeJS.ErrnoException).code === "EADDRINUSE" && current() && entry !== undefined) {
          this.reportPortUnavailable(entry);
          return undefined;
        }
        const reason = `the replica front cannot listen on ${assignment.host}:${assignment.port}: ${describeError(error)}`;
        this.log(`replica ${replicaLabel(assignment)}: ${reason}`);
        if (!current()) return undefined;
        if (attempt >= maxConsecutiveFailures) {
          const supervisor = entry?.supervisor;
          if (entry !== undefined && supervisor !== undefined) {
            delete entry.supervisor;
            delete entry.frontProblem;
            entry.fixed = { state: "failed", reason: `${reason} (${attempt} attempts; not retrying)` };
            void supervisor.stop();
          }
          this.nudge();
          return undefined;
        }
        const wait = restartDelayMs(attempt, backoffInitialMs, backoffMaxMs);
        if (entry !== undefined) entry.frontProblem = `${reason}; retrying in ${(wait / 1000).toFixed(1)} s (attempt ${attempt} of ${maxConsecutiveFailures})`;
        this.nudge();
        await new Promise((resolve) => setTimeout(resolve, wait).unref());
        if (!current()) return undefined;
      }
    }
  }

  /**
   * The replica's assigned port is held by another program: its backend is not started (an adopted
   * one is stopped), and reports carry `port_unavailable` until the platform answers another port.
   */
  private reportPortUnavailable(entry: Entry): void {
    const { assignment } = entry;
    const reason = `port ${assignment.port} on ${assignment.host} is held by another program; waiting for the platform to assign another`;
    this.log(`replica ${replicaLabel(assignment)}: ${reason}`);
    const supervisor = entry.supervisor;
    delete entry.supervisor;
    delete entry.frontProblem;
    entry.fixed = { state: "starting", reason };
    entry.portUnavailable = true;
    if (supervisor?.snapshot().pid !== undefined) entry.previousStop = supervisor.stop();
    this.nudge();
  }

  private supervise(assignment: Assignment, command: BuiltCommand, backendPort: number): ReplicaSupervisor {
    const target = probeTarget(assignment, backendPort);
    const forward = this.options.logBackendOutput ?? true;
    // ollama starts with only the models on disk: the agent pulls the assigned one through its API.
    const label = replicaLabel(assignment);
    const pull = target.backend === "ollama" ? new OllamaModelPull(target, { log: (line) => this.log(`replica ${label}: ${line}`) }) : undefined;
    return new ReplicaSupervisor({
      replicaId: assignment.replica_id,
      label,
      command,
      // The project's secret values are redacted from backend output like the credentials.
      secrets: [assignment.secret, this.options.token, ...Object.values(assignment.env ?? {})],
      probe: async (signal) => {
        const result = await checkReady(target, { signal });
        return !result.ok && result.modelMissing === true && pull !== undefined ? pull.ensure() : result;
      },
      ...(this.options.cwd === undefined ? {} : { cwd: this.options.cwd }),
      ...(this.cgroupBase === undefined ? {} : { cgroupBase: this.cgroupBase }),
      tuning: this.tuning,
      ...(this.options.clock === undefined ? {} : { clock: this.options.clock }),
      log: this.log,
      ...(forward ? { onOutput: (_stream, line) => this.log(`[${label}] ${line}`) } : {}),
      onChange: (snapshot) => {
        if (snapshot.state === "stopping" || snapshot.state === "failed") pull?.abort();
        void this.persist();
        this.nudge();
      },
    });
  }

  private stopEntry(entry: Entry): Promise<void> {
    if (entry.stopping !== undefined) return entry.stopping;
    const supervisor = entry.supervisor;
    if (supervisor === undefined) return Promise.resolve();
    this.log(`stopping replica ${replicaLabel(entry.assignment)}${entry.removing ? " (no longer assigned)" : ""}`);
    // The front goes first: no new request reaches a backend that is being stopped.
    entry.stopping = Promise.all([closeFront(entry), supervisor.stop()]).then(() => undefined);
    this.holdPort(entry.assignment.port, entry.stopping);
    return entry.stopping;
  }

  private holdPort(port: number, release: Promise<void>): void {
    this.releases.set(port, release);
    const tracked = release.finally(() => {
      if (this.releases.get(port) === release) this.releases.delete(port);
      this.background.delete(tracked);
    });
    this.background.add(tracked);
  }

  private persist(): Promise<void> {
    const records: RecordedProcess[] = [...this.candidates, ...this.leftovers.values()];
    for (const [id, entry] of this.entries) {
      const s = entry.supervisor?.snapshot();
      if (s?.pid === undefined || s.pgid === undefined || entry.hash === undefined) continue;
      records.push({
        replica_id: id,
        pid: s.pid,
        pgid: s.pgid,
        port: entry.assignment.port,
        ...(entry.backendPort === undefined ? {} : { backend_port: entry.backendPort }),
        started_at: s.startedAt ?? new Date().toISOString(),
        command_hash: entry.hash,
        workload: `${entry.assignment.project}/${entry.assignment.workload}`,
        ...(s.procStartTime === undefined ? {} : { proc_start_time: s.procStartTime }),
      });
    }
    return this.stateFile.write(records);
  }

  private finish(stopReplicas: boolean, error: Error | undefined): Promise<void> {
    this.finishing ??= (async () => {
      this.stopping = true;
      clearTimeout(this.sampler);
      if (stopReplicas) {
        const stops = [...this.entries.values()].map((entry) => this.stopEntry(entry));
        const orphans = this.candidates.map((record) => stopReplicaProcesses(this.processesOf(record), this.tuning.graceMs));
        this.candidates = [];
        await Promise.all([...stops, ...orphans, ...this.background]);
        this.entries.clear();
      } else {
        keepOutputDrained([...this.entries.values()].flatMap((entry) => entry.supervisor?.detach() ?? []));
        // Backends keep running; their fronts live in this process and end with it (the next agent opens them again).
        await Promise.all([...this.background, ...[...this.entries.values()].map(closeFront)]);
      }
      await this.persist();
      const kept =
        [...this.entries.values()].filter((e) => e.supervisor !== undefined).length + this.candidates.length;
      this.log(
        stopReplicas
          ? "agent stopped; its replicas are stopped"
          : `agent stopped; ${kept} replica(s) left running for the next agent to adopt`,
      );
      if (error === undefined) this.resolveDone();
      else this.rejectDone(error);
    })();
    return this.finishing;
  }
}

/**
 * Starts the worker agent: heartbeats to the control plane, runs the replicas it is assigned, and
 * reports their state and load. Resolves once local state is loaded (leftover processes of a
 * previous run found); it does not wait for the control plane, which may be unreachable for a while.
 */
export async function startAgent(options: AgentOptions): Promise<AgentHandle> {
  try {
    new URL(options.baseUrl);
  } catch {
    throw new TypeError(
      `baseUrl ${JSON.stringify(options.baseUrl)} is not a URL (expected e.g. https://inferencekey.example.com)`,
    );
  }
  if (!options.token.startsWith("ik_wrk_")) throw new TypeError("the worker token must start with ik_wrk_");
  const agent = new Agent(options);
  await agent.init();
  agent.start();
  return {
    done: agent.done,
    stop: (stopOptions) => agent.stop(stopOptions),
    replicas: () => agent.reports(false),
    heartbeatNow: () => agent.nudge(),
  };
}
