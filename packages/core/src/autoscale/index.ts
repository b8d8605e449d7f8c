import type { AutoscalingConfig } from "../spec/schema";
import { readableNumber } from "./wording";

export { readableNumber } from "./wording";

/**
 * The autoscaler: a pure function from (config, signals, memory, now) to a worker count and a
 * sentence naming the signal that drove it. One worker runs one replica.
 *
 * It knows its boot time (the p90 of observed decision-to-ready times): a replica asked for now
 * serves only that much later, so the count is sized from the peak demand over a window at least
 * that long, plus headroom. Scale-up follows one high reading. Scale-down goes only to what the
 * highest demand of the stabilization window needs, and only once the window has run since the
 * last change and since the newest replica became ready (booting replicas have not been tried yet).
 * Scale-to-zero waits for an idle period. The floor, ceiling and cost ceiling are hard bounds applied last.
 */

/** Defaults of the tuning knobs (each is an optional field of the autoscaling config). */
export const AUTOSCALE_DEFAULTS = {
  /**
   * Concurrent requests (running + waiting) one replica should carry, when neither the config nor the
   * command (vLLM `--max-num-seqs`, sglang `--max-running-requests`) says: 8 keeps queues short; vLLM's
   * own default of hundreds is a memory limit, not a scaling target.
   */
  target_concurrency_per_worker: 8,
  /**
   * Requests per minute per replica: sizes backends that report no load (ollama), ~1 req/s with
   * multi-second generations. Set explicitly, it also sizes workloads that do report load.
   */
  target_requests_per_minute_per_worker: 60,
  /** Capacity kept above the peak demand, as a fraction (0.25: size for 125% of the peak). */
  headroom: 0,
  /** The demand window; the boot time is used when it is longer (a shorter window would forget a burst before new capacity is up). */
  demand_window_seconds: 0,
  /** After any change, a scale-down waits this long and goes only to what the window's highest demand needs. */
  scale_down_stabilization_seconds: 300,
  /** With min_workers 0, no traffic for this long scales to zero: long enough to span a chat session's pauses. */
  scale_to_zero_after_seconds: 900,
} as const;

/** Decision-to-ready time assumed until a replica of the workload has been seen booting (a GPU instance plus a model load). */
export const DEFAULT_BOOT_SECONDS = 300;
/** The shortest demand window: an agent's reading already covers its last 60 s (its peak window). */
const MIN_WINDOW_SECONDS = 60;
/** Boot times kept per workload for the p90. */
const BOOT_SAMPLES_KEPT = 20;

export type AutoscaleKnobs = { -readonly [K in keyof typeof AUTOSCALE_DEFAULTS]: number };

/** A running replica as the autoscaler sees it: when it was placed, when it became ready, and whether it is still booting. */
export interface LaunchedReplica {
  created_at: string;
  ready_at?: string;
  /** Placed or starting, not yet ready (a failed replica is not booting: it must not hold a scale-down). */
  booting: boolean;
}

export interface AutoscaleSignals {
  /** Workers currently running or starting for the current spec (distinct slots). */
  current: number;
  /** The running replicas (ready or booting), for boot times and the booting count. */
  replicas?: readonly LaunchedReplica[];
  /**
   * Requests in flight at the ready replicas: the sum of each replica's peak running + waiting over its
   * agent's sampling window (its last reading when the agent reports no peak).
   */
  inFlight: number;
  /** True when at least one ready replica reports a load reading (backends without metrics do not). */
  loadReported: boolean;
  /** Requests the gateway held for want of a ready replica (the highest count since the last tick). */
  heldRequests?: number;
  /** Requests per minute through the gateway (recent). */
  requestsPerMinute: number;
  /** Async jobs queued for this workload. */
  queuedJobs: number;
  /** A request arrived while no replica was ready (the gateway asked for a scale-up). */
  coldRequest: boolean;
  /** Hourly price of one more worker (0 for private workers and free local capacity). */
  pricePerWorkerHour: number;
  /** Workers that can be had at all (private: the listed workers; cloud: no limit here). */
  availableWorkers?: number;
}

/** What the autoscaler remembers between ticks (stored per workload with the controller state). */
export interface AutoscaleMemory {
  /** Last time any demand was seen (for scale to zero); the first reading starts the clock. */
  lastActiveAt?: string;
  /** When the worker count last changed: the stabilization window restarts there. */
  changedAt?: string;
  /** Demand per tick, oldest first, as [epoch seconds, requests], kept for the demand and stabilization windows. */
  demand?: [number, number][];
  /** Recent decision-to-ready times in seconds, newest last. */
  boots?: number[];
  /** The newest ready_at already counted in `boots`. */
  bootsSeenUntil?: string;
}

export interface AutoscaleDecision {
  desired: number;
  reason: string;
  memory: AutoscaleMemory;
  /** The bounds in force, for status. */
  bounds: { min: number; max: number; costCeilingUsd?: number };
  /** The boot time the decision assumed (p90 of observed, else the default). */
  bootSeconds: number;
}

/** A replica's capacity as its command states it: vLLM `--max-num-seqs N`, sglang `--max-running-requests N`. */
export function capacityFromCommand(command: string | undefined): number | undefined {
  if (command === undefined) return undefined;
  const match = /(?:^|\s)--(?:max-num-seqs|max-running-requests)(?:=|\s+)(\d{1,6})(?=\s|$)/.exec(command);
  const value = match === null ? undefined : Number(match[1]);
  return value !== undefined && value > 0 ? value : undefined;
}

/** The knobs in force: the config's value, else (for the concurrency target) the command's capacity, else the default. */
export function effectiveKnobs(config: AutoscalingConfig, command?: string): AutoscaleKnobs {
  const knobs = { ...AUTOSCALE_DEFAULTS } as AutoscaleKnobs;
  knobs.target_concurrency_per_worker = capacityFromCommand(command) ?? knobs.target_concurrency_per_worker;
  for (const key of Object.keys(AUTOSCALE_DEFAULTS) as (keyof AutoscaleKnobs)[]) {
    const value = (config as Record<string, unknown>)[key];
    if (typeof value === "number") knobs[key] = value;
  }
  return knobs;
}

/** The lower of max_workers and cloud_pool.max_instances; the lower of the two cost ceilings. */
export function effectiveBounds(config: AutoscalingConfig): { min: number; max: number; costCeilingUsd?: number } {
  const pool = config.workers.source === "cloud" ? config.workers.cloud_pool : undefined;
  const max = Math.min(config.max_workers, pool?.max_instances ?? Number.POSITIVE_INFINITY);
  const ceilings = [config.max_hourly_cost_usd, pool?.max_hourly_cost_usd].filter((v): v is number => typeof v === "number");
  return { min: Math.min(config.min_workers, max), max, ...(ceilings.length > 0 ? { costCeilingUsd: Math.min(...ceilings) } : {}) };
}

/** The p90 of observed boot times, or the default until one has been observed. */
export function bootSecondsOf(memory: AutoscaleMemory): number {
  const boots = [...(memory.boots ?? [])].sort((a, b) => a - b);
  if (boots.length === 0) return DEFAULT_BOOT_SECONDS;
  return boots[Math.min(boots.length - 1, Math.ceil(0.9 * boots.length) - 1)] as number;
}

/** Adds the boot times of replicas that became ready since the last call. */
function observeBoots(memory: AutoscaleMemory, replicas: readonly LaunchedReplica[]): Pick<AutoscaleMemory, "boots" | "bootsSeenUntil"> {
  const seenUntil = memory.bootsSeenUntil === undefined ? Number.NEGATIVE_INFINITY : Date.parse(memory.bootsSeenUntil);
  const fresh = replicas
    .filter((r) => r.ready_at !== undefined && Date.parse(r.ready_at) > seenUntil)
    .sort((a, b) => Date.parse(a.ready_at as string) - Date.parse(b.ready_at as string));
  if (fresh.length === 0) return { ...(memory.boots ? { boots: memory.boots } : {}), ...(memory.bootsSeenUntil ? { bootsSeenUntil: memory.bootsSeenUntil } : {}) };
  const boots = [...(memory.boots ?? []), ...fresh.map((r) => Math.max(0, (Date.parse(r.ready_at as string) - Date.parse(r.created_at)) / 1000))];
  return { boots: boots.slice(-BOOT_SAMPLES_KEPT), bootsSeenUntil: fresh[fresh.length - 1]?.ready_at as string };
}

/** "5 min", "90 s": a window as a person reads it. */
function span(seconds: number): string {
  return seconds >= 120 && seconds % 60 === 0 ? `${seconds / 60} min` : `${Math.round(seconds)} s`;
}

export function decideWorkers(
  config: AutoscalingConfig,
  signals: AutoscaleSignals,
  memory: AutoscaleMemory,
  now: Date,
  options: { command?: string } = {},
): AutoscaleDecision {
  const knobs = effectiveKnobs(config, options.command);
  const bounds = effectiveBounds(config);
  const nowMs = now.getTime();
  const nowIso = now.toISOString();
  const nowSeconds = Math.floor(nowMs / 1000);
  const replicas = signals.replicas ?? [];
  const seenBoots = observeBoots(memory, replicas);
  const bootSeconds = bootSecondsOf(seenBoots);
  const window = Math.max(knobs.demand_window_seconds, bootSeconds, MIN_WINDOW_SECONDS);
  const stabilization = knobs.scale_down_stabilization_seconds;
  const perReplica = knobs.target_concurrency_per_worker;

  const demandNow = signals.inFlight + (signals.heldRequests ?? 0) + signals.queuedJobs;
  const active = demandNow > 0 || signals.requestsPerMinute > 0 || signals.coldRequest;
  // With nothing remembered, the idle clock starts at this reading (not at the epoch).
  const lastActiveAt = active ? nowIso : (memory.lastActiveAt ?? nowIso);
  const kept = window + stabilization + 60;
  // Only readings above zero are kept (the peak of none is zero), so an idle workload's memory, and
  // with it the controller state, stays unchanged from tick to tick.
  const demand: [number, number][] = [
    ...(memory.demand ?? []).filter(([at]) => at > nowSeconds - kept && at < nowSeconds),
    ...(demandNow > 0 ? [[nowSeconds, demandNow] as [number, number]] : []),
  ];
  // The current reading always counts, however short the window (a replica that boots in no time).
  const peakOver = (seconds: number) => Math.max(demandNow, ...demand.filter(([at]) => nowSeconds - at < seconds).map(([, n]) => n));
  const replicasFor = (requests: number) => Math.ceil((requests * (1 + knobs.headroom)) / perReplica - 1e-9);
  const sizing = `${perReplica} per replica${knobs.headroom > 0 ? `, ${Math.round(knobs.headroom * 100)}% headroom` : ""}`;

  // The request rate sizes backends without load metrics (ollama), and any workload whose config sets its target.
  const rateSignal = !signals.loadReported || typeof config.target_requests_per_minute_per_worker === "number";
  const byRate = rateSignal ? Math.ceil(signals.requestsPerMinute / knobs.target_requests_per_minute_per_worker) : 0;
  const peak = peakOver(window);
  const byDemand = replicasFor(peak);
  const needed = Math.max(byDemand, byRate, signals.coldRequest ? 1 : 0);
  const why =
    byDemand > 0 && needed === byDemand
      ? `peak ${Math.round(peak)} in flight over ${span(window)}, ${sizing}`
      : byRate > 0 && needed === byRate
        ? `${readableNumber(signals.requestsPerMinute)} requests/min, ${knobs.target_requests_per_minute_per_worker} per replica`
        : signals.coldRequest
          ? "a request arrived with no replica ready"
          : `no requests in flight over ${span(window)}`;

  const current = signals.current;
  let desired: number;
  let reason: string;
  if (needed > current) {
    desired = needed;
    reason = `scaling ${current} -> ${needed}: ${why}`;
  } else if (needed < current) {
    // The window restarts after each change and after the newest replica became ready.
    const newestReady = Math.max(Number.NEGATIVE_INFINITY, ...replicas.filter((r) => r.ready_at !== undefined).map((r) => Date.parse(r.ready_at as string)));
    const booting = replicas.filter((r) => r.booting).length;
    const since = Math.max(memory.changedAt === undefined ? Number.NEGATIVE_INFINITY : Date.parse(memory.changedAt), newestReady);
    const calmFor = Number.isFinite(since) ? (nowMs - since) / 1000 : Number.POSITIVE_INFINITY;
    const idleFor = (nowMs - Date.parse(lastActiveAt)) / 1000;
    const longPeak = peakOver(window + stabilization);
    const keep = Math.max(needed, replicasFor(longPeak));
    if (Math.max(needed, bounds.min) >= current) {
      // min_workers forbids going lower: no scale-down is pending, so none is announced.
      desired = current;
      reason = `at the floor of ${bounds.min} (min_workers); ${why}`;
    } else if (booting > 0) {
      desired = current;
      reason = `holding ${current}: ${booting} replica(s) still booting; ${why}`;
    } else if (calmFor < stabilization) {
      desired = current;
      reason = `holding ${current} (${needed} needed): ${why}; waiting ${Math.round(stabilization - calmFor)} s more before scaling down`;
    } else if (keep === 0 && bounds.min === 0) {
      // To zero only after the idle period; until then one warm worker stays.
      if (idleFor >= knobs.scale_to_zero_after_seconds) {
        desired = 0;
        reason = `scaling ${current} -> 0: idle for ${Math.round(idleFor)} s`;
      } else if (current > 1) {
        desired = 1;
        reason = `scaling ${current} -> 1: no requests in flight over ${span(window + stabilization)}; zero after ${knobs.scale_to_zero_after_seconds} s idle`;
      } else {
        desired = current;
        reason = `holding ${current}: idle for ${Math.round(idleFor)} s, scale to zero after ${knobs.scale_to_zero_after_seconds} s`;
      }
    } else if (keep < current) {
      desired = keep;
      reason = `scaling ${current} -> ${keep}: peak ${Math.round(longPeak)} in flight over ${span(window + stabilization)}, ${sizing}`;
    } else {
      desired = current;
      reason = `holding ${current}: peak ${Math.round(longPeak)} in flight over ${span(window + stabilization)}, ${sizing}`;
    }
  } else {
    desired = current;
    reason = current === 0 ? "scaled to zero: no load" : `steady at ${current}: ${why}`;
  }

  // Bounds: the floor and ceiling, then what can be had, then the cost ceiling (hard, applied last).
  if (desired < bounds.min) {
    desired = bounds.min;
    reason = `at the floor of ${bounds.min} (min_workers); ${why}`;
  }
  if (desired > bounds.max) {
    desired = bounds.max;
    reason = `held at ${bounds.max} by ${bounds.max < config.max_workers ? "max_instances" : "max_workers"}; ${why}`;
  }
  if (signals.availableWorkers !== undefined && desired > signals.availableWorkers) {
    desired = signals.availableWorkers;
    reason = `held at ${desired}: only ${signals.availableWorkers} private worker(s) available; ${why}`;
  }
  if (bounds.costCeilingUsd !== undefined && signals.pricePerWorkerHour > 0) {
    const affordable = Math.floor(bounds.costCeilingUsd / signals.pricePerWorkerHour + 1e-9);
    if (desired > affordable) {
      desired = affordable;
      reason = `held at ${affordable} by max_hourly_cost_usd ($${bounds.costCeilingUsd}/h at $${readableNumber(signals.pricePerWorkerHour)}/h per worker); ${why}`;
    }
  }
  const changedAt = desired !== current ? nowIso : memory.changedAt;
  return {
    desired,
    reason,
    memory: { lastActiveAt, ...(changedAt === undefined ? {} : { changedAt }), ...(demand.length > 0 ? { demand } : {}), ...seenBoots },
    bounds,
    bootSeconds,
  };
}
