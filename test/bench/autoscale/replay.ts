import { PeakWindow } from "@inferencekey/agent";
import {
  authenticateSdkToken,
  bootstrapAdminToken,
  type Compute,
  createProject,
  ensureWorkload,
  heartbeat,
  listWorkerReplicas,
  MemoryStore,
  type PlatformContext,
  readControllerState,
  reconcileAll,
  recordColdRequest,
  registerWorker,
  type ReplicaReport,
} from "@inferencekey/core";
import type { Trace } from "./trace";

/**
 * Replays a trace through the production controller tick (`reconcileAll` on a memory store) with a
 * simulated clock, a simulated agent and a simulated gateway:
 * - a replica is ready `bootSeconds` after the tick that creates its record, and stops serving at the
 *   tick that marks it stopped; it is paid between those two ticks;
 * - the agent heartbeats every 5 s (2.5 s before each tick, and at once when a replica becomes ready,
 *   as the real agent's nudge does), reporting each ready replica's running + waiting and its peak over
 *   the last 60 s, sampled at 1 Hz (the agent's own PeakWindow);
 * - the gateway spreads requests evenly over ready replicas, records a cold request when none is
 *   ready, and reports the most requests it held since the last tick;
 * - "count" mode serves every request on arrival and counts it stranded when the requests in flight
 *   already fill CAP x ready replicas; "wait" mode makes stranded requests wait (FIFO, as the gateway's
 *   hold and vLLM's queue do) and reports how long.
 */

export interface ReplayOptions {
  cap: number;
  bootSeconds?: number;
  tickSeconds?: number;
  mode?: "count" | "wait";
  /** Ready replicas at the start (the reactive baseline's first fleet), booted before the trace begins. */
  warmReplicas: number;
  maxWorkers?: number;
  /** Autoscaling knobs set in the workload's config (defaults otherwise). */
  knobs?: Record<string, number>;
  /** Minutes replayed. */
  horizonMinutes: number;
  /** How often the agent samples each replica's load (default 1 s, the agent's default). */
  sampleSeconds?: number;
}

export interface ReplayResult {
  gpuHours: number;
  stranded: number;
  requests: number;
  minutesShort: number;
  scaleUps: number;
  scaleDowns: number;
  stoppedSoon: number;
  /** Added wait of each stranded request (wait mode), seconds. */
  waits: number[];
  /** Ready replicas per minute (at the minute's start). */
  readyPerMinute: number[];
  /** Every distinct decision sentence that changed the worker count, in order. */
  decisions: string[];
}

const T0 = Date.parse("2026-01-01T00:00:00Z");
const HEARTBEAT_SECONDS = 5;
const HEARTBEAT_LEAD_SECONDS = 2.5;
const PEAK_WINDOW_MS = 60_000;

interface Process {
  createdAt: number;
  readyAt: number;
  stoppedAt?: number;
  peak: PeakWindow;
  reportedReady: boolean;
}

/** A min-heap of numbers (request end times). */
class Heap {
  private readonly items: number[] = [];
  get size(): number {
    return this.items.length;
  }
  peek(): number | undefined {
    return this.items[0];
  }
  push(value: number): void {
    const a = this.items;
    a.push(value);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if ((a[p] as number) <= value) break;
      a[i] = a[p] as number;
      i = p;
    }
    a[i] = value;
  }
  pop(): number {
    const a = this.items;
    const top = a[0] as number;
    const last = a.pop() as number;
    if (a.length > 0) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= a.length) break;
        const r = l + 1;
        const c = r < a.length && (a[r] as number) < (a[l] as number) ? r : l;
        if ((a[c] as number) >= last) break;
        a[i] = a[c] as number;
        i = c;
      }
      a[i] = last;
    }
    return top;
  }
}

export async function replay(trace: Trace, options: ReplayOptions): Promise<ReplayResult> {
  const cap = options.cap;
  const boot = options.bootSeconds ?? 300;
  const tick = options.tickSeconds ?? 60;
  const mode = options.mode ?? "count";
  const sampleStep = options.sampleSeconds ?? 1;
  const end = options.horizonMinutes * 60;
  let clock = T0;
  const ctx: PlatformContext = { store: new MemoryStore(() => clock), serverSecret: "bench", now: () => new Date(clock) };
  const admin = await authenticateSdkToken(ctx, `Bearer ${(await bootstrapAdminToken(ctx))?.secret}`);
  await createProject(ctx, admin, { slug: "bench" });
  const { worker } = await registerWorker(ctx, admin, "bench", { name: "fleet", addresses: ["127.0.0.1"] });
  const compute: Compute = { placeCloudReplica: async () => ({ workerId: worker.id, hourlyPriceUsd: 1 }), hourlyPrice: () => 1 };
  await ensureWorkload(ctx, admin, "bench", {
    name: "Trace",
    slug: "trace",
    model: "bench/model",
    backend: "vllm",
    command: `vllm serve bench/model --max-num-seqs ${cap}`,
    execution_policy: "autoscaling",
    execution_policy_config: {
      min_workers: 0,
      max_workers: options.maxWorkers ?? 20,
      // No effective cost ceiling: 1000 workers' worth at $1/h.
      max_hourly_cost_usd: 1000,
      workers: { source: "cloud", cloud_pool: { gpu_pool: ["NVIDIA L4"] } },
      ...options.knobs,
    },
  });

  const processes = new Map<string, Process>();
  let readyCount = 0;
  const inFlight = new Heap();
  const queue: number[] = [];
  let queueHead = 0;
  const waits: number[] = [];
  let stranded = 0;
  const shortMinutes = new Set<number>();
  let next = 0;
  let heldPeak = 0;
  const recent: number[] = [];
  let recentHead = 0;
  let lastColdSecond = Number.NEGATIVE_INFINITY;
  let pendingCold = false;
  const preRoll = -Math.ceil(boot / tick) * tick;
  // Warm start: one tick a boot time before the trace sees held demand that sizes to exactly the
  // first fleet under these knobs (checked at t = 0). A config change to hold the fleet instead
  // (min_workers) would roll the replicas: execution_policy_config changes restart them.
  let warmHeld = (options.warmReplicas * cap) / (1 + (options.knobs?.headroom ?? 0));

  const demand = () => inFlight.size + (queue.length - queueHead);
  const startQueued = (at: number) => {
    while (queueHead < queue.length && inFlight.size < cap * readyCount) {
      const i = queue[queueHead++] as number;
      waits.push(at - (trace.arrivals[i] as number));
      inFlight.push(at + (trace.service[i] as number));
    }
  };
  /** Arrivals before `until` and completions up to it, in time order. */
  const advance = (until: number) => {
    for (;;) {
      const arrival = next < trace.arrivals.length ? (trace.arrivals[next] as number) : Number.POSITIVE_INFINITY;
      const done = inFlight.peek() ?? Number.POSITIVE_INFINITY;
      if (done <= arrival && done <= until) {
        inFlight.pop();
        if (mode === "wait") startQueued(done);
        continue;
      }
      if (arrival >= until) return;
      const i = next++;
      recent.push(arrival);
      if (readyCount === 0 && Math.floor(arrival) > lastColdSecond) {
        lastColdSecond = Math.floor(arrival);
        pendingCold = true;
      }
      const full = inFlight.size + (queue.length - queueHead) >= cap * readyCount;
      if (full) {
        stranded++;
        shortMinutes.add(Math.floor(arrival / 60));
      }
      if (mode === "wait" && full) queue.push(i);
      else inFlight.push(arrival + (trace.service[i] as number));
    }
  };

  const setClock = (t: number) => {
    clock = T0 + Math.round(t * 1000);
  };
  const serving = (p: Process, t: number) => p.readyAt <= t && (p.stoppedAt === undefined || t < p.stoppedAt);
  const recount = (t: number) => {
    readyCount = [...processes.values()].filter((p) => serving(p, t)).length;
  };
  /** Splits the current demand evenly over the ready replicas (the gateway balances by least load). */
  const shares = (t: number) => {
    const ready = [...processes.entries()].filter(([, p]) => serving(p, t));
    const total = demand();
    return new Map(ready.map(([key, p], index) => [key, { p, share: Math.floor(total / ready.length) + (index < total % ready.length ? 1 : 0) }]));
  };

  const sample = (t: number) => {
    const now = T0 + t * 1000;
    for (const { p, share } of shares(t).values()) p.peak.add(now, share);
    if (readyCount === 0) heldPeak = Math.max(heldPeak, demand());
  };

  const beat = async (t: number) => {
    setClock(t);
    if (pendingCold) {
      await recordColdRequest(ctx, "bench", "trace");
      pendingCold = false;
    }
    const now = T0 + t * 1000;
    const loads = shares(t);
    const records = (await listWorkerReplicas(ctx, worker.id)).map((r) => r.record);
    const reports: ReplicaReport[] = records.map((r) => {
      const p = processes.get(`${r.id}@${r.created_at}`);
      const base = { replica_id: r.id, port: r.port, restarts: 0 };
      if (r.desired === "stopped" || p === undefined || p.stoppedAt !== undefined) return { ...base, state: "stopped" as const };
      if (p.readyAt > t) return { ...base, state: "starting" as const };
      p.reportedReady = true;
      const share = loads.get(`${r.id}@${r.created_at}`)?.share ?? 0;
      p.peak.add(now, share);
      return {
        ...base,
        state: "ready" as const,
        load: {
          running_requests: Math.min(cap, share),
          waiting_requests: Math.max(0, share - cap),
          peak_requests: p.peak.peak(now) ?? share,
          peak_window_seconds: PEAK_WINDOW_MS / 1000,
          scraped_at: new Date(now).toISOString(),
        },
      };
    });
    await heartbeat(ctx, { project: "bench", workerId: worker.id }, { host: { hostname: "fleet", advertise_host: "127.0.0.1", gpus: [] }, replicas: reports });
  };

  let previousDesired = options.warmReplicas;
  let scaleUps = 0;
  let scaleDowns = 0;
  const decisions: string[] = [];
  const control = async (t: number) => {
    setClock(t);
    const outcomes = await reconcileAll(ctx, compute, {
      signals: {
        requestsPerMinute: () => {
          while (recentHead < recent.length && (recent[recentHead] as number) <= t - 60) recentHead++;
          return recent.length - recentHead;
        },
        queuedJobs: () => 0,
        heldRequests: () => {
          const held = Math.max(heldPeak, warmHeld);
          heldPeak = readyCount === 0 ? demand() : 0;
          warmHeld = 0;
          return held;
        },
      },
    });
    const outcome = outcomes.find((o) => o.workload === "trace");
    if (outcome !== undefined && t >= 0 && outcome.desired !== previousDesired) {
      if (outcome.desired > previousDesired) scaleUps++;
      else scaleDowns++;
      decisions.push(`t=${Math.round(t / 60)} min: ${outcome.decision}`);
    }
    if (outcome !== undefined && t >= 0) previousDesired = outcome.desired;
    // The replica processes follow the records: new ones start booting, stopped ones stop serving now.
    const records = (await listWorkerReplicas(ctx, worker.id)).map((r) => r.record);
    const live = new Set<string>();
    for (const r of records) {
      const key = `${r.id}@${r.created_at}`;
      live.add(key);
      const p = processes.get(key);
      if (p === undefined && r.desired === "running") {
        processes.set(key, { createdAt: t, readyAt: t + boot, peak: new PeakWindow(PEAK_WINDOW_MS), reportedReady: false });
      } else if (p !== undefined && r.desired === "stopped" && p.stoppedAt === undefined) {
        p.stoppedAt = t;
      }
    }
    for (const [key, p] of processes) if (!live.has(key) && p.stoppedAt === undefined) p.stoppedAt = t;
    recount(t);
  };

  const readyPerMinute: number[] = [];
  // The agent's first heartbeat comes before the first tick, so the worker is online when it places replicas.
  let nextBeat = preRoll - HEARTBEAT_LEAD_SECONDS;
  let t = nextBeat;
  let samples = 0;
  let nextSample = preRoll;
  while (t < end) {
    const nextReady = Math.min(
      Number.POSITIVE_INFINITY,
      ...[...processes.values()].filter((p) => p.readyAt > t && p.stoppedAt === undefined).map((p) => p.readyAt),
    );
    const at = Math.min(nextSample, nextBeat, nextReady);
    if (at >= end) break;
    advance(at);
    t = at;
    if (at === nextReady) {
      recount(t);
      if (mode === "wait") startQueued(t);
      // The agent reports a replica that became ready at once (its nudge).
      await beat(t);
    }
    if (at === nextSample) {
      sample(t);
      if (Number.isInteger(t) && t % tick === 0) {
        if (t === 0 && readyCount !== options.warmReplicas) {
          throw new Error(`warm start: ${readyCount} replicas ready at the trace's start, expected ${options.warmReplicas}`);
        }
        if (t >= 0 && t % 60 === 0) readyPerMinute.push(readyCount);
        await control(t);
        if (mode === "wait") startQueued(t);
      }
      nextSample = preRoll + ++samples * sampleStep;
    }
    if (at === nextBeat) {
      await beat(t);
      nextBeat += HEARTBEAT_SECONDS;
    }
  }
  advance(end);

  let paidSeconds = 0;
  let stoppedSoon = 0;
  for (const p of processes.values()) {
    const stop = Math.min(p.stoppedAt ?? end, end);
    paidSeconds += Math.max(0, stop - Math.max(0, p.createdAt));
    if (p.stoppedAt !== undefined && p.stoppedAt >= 0 && p.stoppedAt < end && p.stoppedAt - p.readyAt < 600) stoppedSoon++;
  }
  const state = await readControllerState(ctx, "bench", "trace");
  if (state === undefined) throw new Error("the controller wrote no state for the replayed workload");
  return {
    gpuHours: paidSeconds / 3600,
    stranded,
    requests: trace.arrivals.length,
    minutesShort: shortMinutes.size,
    scaleUps,
    scaleDowns,
    stoppedSoon,
    waits,
    readyPerMinute,
    decisions,
  };
}
