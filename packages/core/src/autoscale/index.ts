import type { AutoscalingConfig } from "../spec/schema";
import { readableNumber } from "./wording";

export { readableNumber } from "./wording";

/**
 * The autoscaler: a pure function from (config, signals, memory, now) to a worker count and a
 * sentence saying why. One worker runs one replica. Scale-up follows a single high reading; scale-
 * down waits for a sustained low (stabilization); scale-to-zero waits for an idle period. The cost
 * ceiling and max_instances are hard bounds applied last.
 */

/** Defaults of the tuning knobs (each is an optional field of the autoscaling config). */
export const AUTOSCALE_DEFAULTS = {
  /** Concurrent requests (running + waiting) one replica should carry. vLLM batches well; 8 keeps queues short. */
  target_concurrency_per_worker: 8,
  /** Requests per minute one replica should carry, for the gateway's rate signal (~1 req/s with multi-second generations). */
  target_requests_per_minute_per_worker: 60,
  /** A low reading must last this long before workers are removed: avoids flapping on bursty traffic. */
  scale_down_stabilization_seconds: 300,
  /** With min_workers 0, no traffic for this long scales to zero: long enough to span a chat session's pauses. */
  scale_to_zero_after_seconds: 900,
} as const;

export type AutoscaleKnobs = { -readonly [K in keyof typeof AUTOSCALE_DEFAULTS]: number };

export interface AutoscaleSignals {
  /** Workers currently running or starting for the current spec. */
  current: number;
  /** Sum over ready replicas of running requests (from the backends' metrics). */
  runningRequests: number;
  /** Sum over ready replicas of waiting (queued) requests. */
  waitingRequests: number;
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

/** What the autoscaler remembers between ticks (stored per workload). */
export interface AutoscaleMemory {
  /** Since when the demand has been below the current count (for stabilization). */
  lowSince?: string;
  /** Last time any demand was seen (for scale to zero). */
  lastActiveAt?: string;
}

export interface AutoscaleDecision {
  desired: number;
  reason: string;
  memory: AutoscaleMemory;
  /** The bounds in force, for status. */
  bounds: { min: number; max: number; costCeilingUsd?: number };
}

export function effectiveKnobs(config: AutoscalingConfig): AutoscaleKnobs {
  const knobs = { ...AUTOSCALE_DEFAULTS } as AutoscaleKnobs;
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

export function decideWorkers(config: AutoscalingConfig, signals: AutoscaleSignals, memory: AutoscaleMemory, now: Date): AutoscaleDecision {
  const knobs = effectiveKnobs(config);
  const bounds = effectiveBounds(config);
  const nowIso = now.toISOString();
  const concurrency = signals.runningRequests + signals.waitingRequests;
  const active = concurrency > 0 || signals.requestsPerMinute > 0 || signals.queuedJobs > 0 || signals.coldRequest;
  const lastActiveAt = active ? nowIso : memory.lastActiveAt;

  const byConcurrency = Math.ceil(concurrency / knobs.target_concurrency_per_worker);
  const byRate = Math.ceil(signals.requestsPerMinute / knobs.target_requests_per_minute_per_worker);
  const byJobs = signals.queuedJobs > 0 ? Math.ceil(signals.queuedJobs / knobs.target_concurrency_per_worker) : 0;
  const needed = Math.max(byConcurrency, byRate, byJobs, signals.coldRequest ? 1 : 0);
  const why =
    needed === byConcurrency && byConcurrency > 0
      ? `${signals.runningRequests} running + ${signals.waitingRequests} waiting requests`
      : needed === byRate && byRate > 0
        ? `${readableNumber(signals.requestsPerMinute)} requests/min`
        : needed === byJobs && byJobs > 0
          ? `${signals.queuedJobs} queued jobs`
          : signals.coldRequest
            ? "a request arrived with no replica ready"
            : "no load";

  let desired: number;
  let reason: string;
  let lowSince = memory.lowSince;
  const current = signals.current;
  if (needed > current) {
    desired = needed;
    reason = `scaling ${current} -> ${needed}: ${why}`;
    lowSince = undefined;
  } else if (needed < current) {
    lowSince ??= nowIso;
    const lowFor = (now.getTime() - Date.parse(lowSince)) / 1000;
    const idleFor = lastActiveAt === undefined ? Number.POSITIVE_INFINITY : (now.getTime() - Date.parse(lastActiveAt)) / 1000;
    if (needed === 0 && bounds.min === 0) {
      // To zero only after the idle period; otherwise keep one warm worker through the stabilization window.
      if (idleFor >= knobs.scale_to_zero_after_seconds) {
        desired = 0;
        reason = `scaling ${current} -> 0: idle for ${Math.round(idleFor)} s`;
      } else if (lowFor >= knobs.scale_down_stabilization_seconds && current > 1) {
        desired = 1;
        reason = `scaling ${current} -> 1: low load for ${Math.round(lowFor)} s; zero after ${knobs.scale_to_zero_after_seconds} s idle`;
      } else {
        desired = current;
        reason = `holding ${current}: idle for ${Math.round(Math.min(idleFor, lowFor))} s, scale to zero after ${knobs.scale_to_zero_after_seconds} s`;
      }
    } else if (Math.max(needed, bounds.min) >= current) {
      // min_workers forbids going lower: no scale-down is pending, so none is announced.
      desired = current;
      reason = `at the floor of ${bounds.min} (min_workers); ${why}`;
      lowSince = undefined;
    } else if (lowFor >= knobs.scale_down_stabilization_seconds) {
      desired = Math.max(needed, bounds.min);
      reason = `scaling ${current} -> ${desired}: ${why} for ${Math.round(lowFor)} s`;
    } else {
      desired = current;
      reason = `holding ${current}: ${why}, waiting ${knobs.scale_down_stabilization_seconds - Math.round(lowFor)} s more before scaling down`;
    }
  } else {
    desired = current;
    reason = current === 0 ? "scaled to zero: no load" : `steady at ${current}: ${why}`;
    lowSince = undefined;
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
  return {
    desired,
    reason,
    memory: { ...(lowSince === undefined ? {} : { lowSince }), ...(lastActiveAt === undefined ? {} : { lastActiveAt }) },
    bounds,
  };
}
