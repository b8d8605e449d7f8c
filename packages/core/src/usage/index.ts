import { ConditionFailedError } from "../errors";
import { readEstimatedCost } from "../capacity/status";
import { randomBase62 } from "../ids";
import type { PlatformContext } from "../platform/context";
import { queryAll } from "../store";

/**
 * Usage of the data plane per workload, key and minute. Each gateway instance aggregates in memory
 * and flushes periodically; every instance writes its own cumulative totals into a `parts` map of
 * the minute's item (conditional write on the item version), so a retried or repeated flush writes
 * the same numbers again: idempotent by construction, and concurrent instances never overwrite
 * each other. Readers sum the parts.
 */

/** Upper bounds (ms) of the latency histogram buckets; one more bucket holds everything slower. */
export const LATENCY_BUCKETS_MS = [10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000, 30_000, 60_000] as const;

export interface UsageCounters {
  requests: number;
  /** Answers with status >= 400, and streams that broke off upstream. */
  errors: number;
  /** The client went away before the answer was complete. */
  cancelled: number;
  prompt_tokens: number;
  completion_tokens: number;
  /** Successful answers of token-counting routes that carried no `usage` (e.g. streams without include_usage). */
  unmetered: number;
  latency_ms_sum: number;
  latency_ms_max: number;
  /** Counts per LATENCY_BUCKETS_MS bucket, plus the overflow bucket. */
  latency_buckets: number[];
}

export interface UsageSample {
  keyId: string;
  status: number;
  latencyMs: number;
  promptTokens?: number;
  completionTokens?: number;
  cancelled?: boolean;
  /** Broke off after the status was sent (upstream reset, idle timeout). */
  failed?: boolean;
  /** The route reports token usage and the answer had none. */
  unmetered?: boolean;
  /**
   * The workload incarnation this request was servable demand for (the autoscaler's rate signal);
   * absent for refused requests and `GET /v1/models`.
   */
  demand?: string;
}

export const usageKeys = {
  partition: (project: string, workload: string) => `USAGE#${project}#${workload}`,
  sort: (minute: string, keyId: string) => `${minute}#${keyId}`,
};

/** Minute bucket of an instant: `2025-06-02T10:05` (UTC). */
export function minuteOf(at: Date): string {
  return at.toISOString().slice(0, 16);
}

export function emptyCounters(): UsageCounters {
  return {
    requests: 0,
    errors: 0,
    cancelled: 0,
    prompt_tokens: 0,
    completion_tokens: 0,
    unmetered: 0,
    latency_ms_sum: 0,
    latency_ms_max: 0,
    latency_buckets: new Array<number>(LATENCY_BUCKETS_MS.length + 1).fill(0),
  };
}

export function addCounters(into: UsageCounters, from: UsageCounters): void {
  into.requests += from.requests;
  into.errors += from.errors;
  into.cancelled += from.cancelled;
  into.prompt_tokens += from.prompt_tokens;
  into.completion_tokens += from.completion_tokens;
  into.unmetered += from.unmetered;
  into.latency_ms_sum += from.latency_ms_sum;
  into.latency_ms_max = Math.max(into.latency_ms_max, from.latency_ms_max);
  for (let i = 0; i < into.latency_buckets.length; i++) {
    into.latency_buckets[i] = (into.latency_buckets[i] ?? 0) + (from.latency_buckets[i] ?? 0);
  }
}

function bucketIndex(latencyMs: number): number {
  for (let i = 0; i < LATENCY_BUCKETS_MS.length; i++) {
    if (latencyMs <= (LATENCY_BUCKETS_MS[i] ?? 0)) return i;
  }
  return LATENCY_BUCKETS_MS.length;
}

interface Bucket {
  project: string;
  workload: string;
  minute: string;
  keyId: string;
  counters: UsageCounters;
  /** Servable requests per workload incarnation (usually one). */
  demand: Record<string, number>;
  /** Bumped by every sample; a flush that wrote revision N leaves the bucket clean only if still N. */
  revision: number;
  flushedRevision: number;
}

interface UsageItemData {
  project: string;
  workload: string;
  minute: string;
  key_id: string;
  /** Cumulative counters per gateway instance. */
  parts: Record<string, UsagePart>;
}

/**
 * One gateway instance's cumulative counters in a usage item, plus its servable requests per
 * workload incarnation (`demand`; absent in items written before it existed).
 */
type UsagePart = UsageCounters & { demand?: Record<string, number> };

export interface UsageRecorderOptions {
  /** Identifies this gateway instance's part of each item. Default: random. */
  instanceId?: string;
  /** Period of the background flush; 0 disables the timer (flush explicitly). Default 10000. */
  flushIntervalMs?: number;
  /** Days a usage item is kept (store TTL). Default 90. */
  retentionDays?: number;
  log?: (line: string) => void;
}

/** In-memory usage aggregation with periodic flushes to the store. */
export class UsageRecorder {
  readonly instanceId: string;
  private readonly buckets = new Map<string, Bucket>();
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;
  private lastFlushAt = 0;
  private minuteStart = 0;
  private minute = "";

  constructor(
    private readonly ctx: PlatformContext,
    private readonly options: UsageRecorderOptions = {},
  ) {
    this.instanceId = options.instanceId ?? `gw_${randomBase62(12)}`;
  }

  record(project: string, workload: string, sample: UsageSample): void {
    const at = this.ctx.now().getTime();
    if (at < this.minuteStart || at >= this.minuteStart + 60_000) {
      this.minuteStart = at - (at % 60_000);
      this.minute = minuteOf(new Date(at));
    }
    const minute = this.minute;
    const id = `${project}/${workload}/${minute}/${sample.keyId}`;
    let bucket = this.buckets.get(id);
    if (bucket === undefined) {
      bucket = { project, workload, minute, keyId: sample.keyId, counters: emptyCounters(), demand: {}, revision: 0, flushedRevision: 0 };
      this.buckets.set(id, bucket);
    }
    const c = bucket.counters;
    c.requests++;
    if (sample.demand !== undefined) bucket.demand[sample.demand] = (bucket.demand[sample.demand] ?? 0) + 1;
    if (sample.status >= 400 || sample.failed) c.errors++;
    if (sample.cancelled) c.cancelled++;
    if (sample.unmetered) c.unmetered++;
    c.prompt_tokens += sample.promptTokens ?? 0;
    c.completion_tokens += sample.completionTokens ?? 0;
    const latency = Math.max(0, Math.round(sample.latencyMs));
    c.latency_ms_sum += latency;
    c.latency_ms_max = Math.max(c.latency_ms_max, latency);
    const index = bucketIndex(latency);
    c.latency_buckets[index] = (c.latency_buckets[index] ?? 0) + 1;
    bucket.revision++;
  }

  start(): void {
    const interval = this.options.flushIntervalMs ?? 10_000;
    if (interval <= 0 || this.timer !== undefined) return;
    this.timer = setInterval(() => {
      void this.flush();
    }, interval);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    await this.flush();
  }

  /** Flushes when the last flush is older than the interval (for runtimes without background timers). */
  async flushIfDue(): Promise<void> {
    if (this.ctx.now().getTime() - this.lastFlushAt >= (this.options.flushIntervalMs || 10_000)) await this.flush();
  }

  /** Writes every changed bucket; one flush at a time (a caller during a flush joins it). */
  flush(): Promise<void> {
    if (this.flushing !== undefined) return this.flushing;
    this.flushing = this.flushAll().finally(() => {
      this.flushing = undefined;
      this.lastFlushAt = this.ctx.now().getTime();
    });
    return this.flushing;
  }

  /** Buckets held in memory (unflushed, or the current minute's). */
  get pendingBuckets(): number {
    return this.buckets.size;
  }

  private async flushAll(): Promise<void> {
    const currentMinute = minuteOf(this.ctx.now());
    for (const [id, bucket] of [...this.buckets]) {
      if (bucket.revision !== bucket.flushedRevision) {
        const revision = bucket.revision;
        const snapshot: UsagePart = { ...structuredClone(bucket.counters), demand: { ...bucket.demand } };
        try {
          await this.write(bucket, snapshot);
          bucket.flushedRevision = revision;
        } catch (error) {
          (this.options.log ?? console.error)(
            `usage: flush of ${bucket.project}/${bucket.workload} ${bucket.minute} failed, kept for the next flush: ${
              error instanceof Error ? error.message : String(error)
            }`,
          );
          continue;
        }
      }
      // A past minute, fully written: no sample can reach it any more.
      if (bucket.minute < currentMinute && bucket.revision === bucket.flushedRevision) this.buckets.delete(id);
    }
  }

  private async write(bucket: Bucket, counters: UsagePart): Promise<void> {
    const pk = usageKeys.partition(bucket.project, bucket.workload);
    const sk = usageKeys.sort(bucket.minute, bucket.keyId);
    const expiresAt = Math.floor(Date.parse(`${bucket.minute}:00Z`) / 1000) + (this.options.retentionDays ?? 90) * 86_400;
    for (let attempt = 0; attempt < 10; attempt++) {
      const item = await this.ctx.store.get(pk, sk);
      const current = item?.data as UsageItemData | undefined;
      const data: UsageItemData = {
        project: bucket.project,
        workload: bucket.workload,
        minute: bucket.minute,
        key_id: bucket.keyId,
        parts: { ...(current?.parts ?? {}), [this.instanceId]: counters },
      };
      try {
        await this.ctx.store.put(
          { pk, sk, expiresAt, data: { ...data } },
          item === undefined ? { kind: "absent" } : { kind: "version", version: item.version },
        );
        return;
      } catch (error) {
        if (!(error instanceof ConditionFailedError)) throw error;
      }
    }
    throw new ConditionFailedError(pk, sk);
  }
}

export interface UsageSummary {
  requests: number;
  errors: number;
  cancelled: number;
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  unmetered: number;
  latency_ms_avg: number;
  latency_ms_max: number;
  /**
   * Upper bound of the histogram bucket holding the median (approximate), capped at
   * `latency_ms_max`: always `latency_ms_p50 <= latency_ms_p99 <= latency_ms_max`.
   */
  latency_ms_p50: number;
  latency_ms_p99: number;
}

export interface UsageReport {
  project: string;
  workload: string;
  /** Inclusive, rounded down to the minute. */
  from: string;
  /** Exclusive. */
  to: string;
  totals: UsageSummary;
  /**
   * On shared cloud capacity: the workload's GPUs' share of its nodes' prices over the UTC hours
   * that start in the range (hour granularity), USD, estimated. 0 elsewhere.
   */
  estimated_cost_usd?: number;
  by_key: (UsageSummary & { key_id: string })[];
  by_minute: (UsageSummary & { minute: string })[];
}

/**
 * The q-quantile from the histogram: the upper bound of the bucket where it falls. A bucket's bound
 * can exceed every latency seen (7 ms lands in the "<= 10 ms" bucket), so the answer is capped at
 * the maximum: otherwise p50 could read 10 ms beside a max of 7 ms.
 */
function quantile(counters: UsageCounters, q: number): number {
  if (counters.requests === 0) return 0;
  const target = Math.ceil(counters.requests * q);
  let seen = 0;
  for (let i = 0; i < counters.latency_buckets.length; i++) {
    seen += counters.latency_buckets[i] ?? 0;
    if (seen >= target) return Math.min(LATENCY_BUCKETS_MS[i] ?? counters.latency_ms_max, counters.latency_ms_max);
  }
  return counters.latency_ms_max;
}

export function summarize(counters: UsageCounters): UsageSummary {
  return {
    requests: counters.requests,
    errors: counters.errors,
    cancelled: counters.cancelled,
    prompt_tokens: counters.prompt_tokens,
    completion_tokens: counters.completion_tokens,
    total_tokens: counters.prompt_tokens + counters.completion_tokens,
    unmetered: counters.unmetered,
    latency_ms_avg: counters.requests === 0 ? 0 : Math.round(counters.latency_ms_sum / counters.requests),
    latency_ms_max: counters.latency_ms_max,
    latency_ms_p50: quantile(counters, 0.5),
    latency_ms_p99: quantile(counters, 0.99),
  };
}

function commonPrefix(a: string, b: string): string {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return a.slice(0, i);
}

/** Usage items of a workload whose minute lies in [from, to), as (minute, key id, summed counters). */
async function readItems(
  ctx: PlatformContext,
  project: string,
  workload: string,
  from: Date,
  to: Date,
): Promise<{ minute: string; keyId: string; counters: UsageCounters }[]> {
  const fromMinute = minuteOf(from);
  // The last minute that starts before `to`.
  const lastMinute = minuteOf(new Date(to.getTime() - 1));
  if (to.getTime() <= from.getTime()) return [];
  const out: { minute: string; keyId: string; counters: UsageCounters }[] = [];
  const items = await queryAll(ctx.store, { pk: usageKeys.partition(project, workload), skPrefix: commonPrefix(fromMinute, lastMinute) });
  for (const item of items) {
    const data = item.data as unknown as UsageItemData;
    if (data.minute < fromMinute || data.minute > lastMinute) continue;
    const counters = emptyCounters();
    for (const part of Object.values(data.parts ?? {})) addCounters(counters, part);
    out.push({ minute: data.minute, keyId: data.key_id, counters });
  }
  return out;
}

/**
 * Usage of one workload between two instants, for the control API. Reads one store partition,
 * narrowed by the longest common prefix of the two minutes; ranges are the caller's to bound.
 */
export async function readUsage(
  ctx: PlatformContext,
  project: string,
  workload: string,
  range: { from: Date | string; to: Date | string },
): Promise<UsageReport> {
  const from = new Date(range.from);
  const to = new Date(range.to);
  const items = await readItems(ctx, project, workload, from, to);
  const totals = emptyCounters();
  const byKey = new Map<string, UsageCounters>();
  const byMinute = new Map<string, UsageCounters>();
  for (const item of items) {
    addCounters(totals, item.counters);
    const k = byKey.get(item.keyId) ?? emptyCounters();
    addCounters(k, item.counters);
    byKey.set(item.keyId, k);
    const m = byMinute.get(item.minute) ?? emptyCounters();
    addCounters(m, item.counters);
    byMinute.set(item.minute, m);
  }
  return {
    project,
    workload,
    from: `${minuteOf(from)}:00.000Z`,
    to: to.toISOString(),
    totals: summarize(totals),
    estimated_cost_usd: await readEstimatedCost(ctx, project, workload, { from, to }),
    by_key: [...byKey].map(([keyId, c]) => ({ key_id: keyId, ...summarize(c) })),
    by_minute: [...byMinute].sort(([a], [b]) => a.localeCompare(b)).map(([minute, c]) => ({ minute, ...summarize(c) })),
  };
}

/**
 * Servable requests per minute to one incarnation of a workload, from the flushed counters (sliding
 * estimate over the current and the previous minute): the rate signal for a controller that does not
 * share the gateway's process (AWS). Refused requests and `GET /v1/models` do not count, nor do the
 * requests of a former life of the slug. Lags by up to one flush interval.
 */
export async function storedRequestRate(ctx: PlatformContext, project: string, workload: string, incarnation: string): Promise<number> {
  const now = ctx.now();
  const minuteStart = new Date(Math.floor(now.getTime() / 60_000) * 60_000);
  const current = minuteOf(minuteStart);
  const previous = minuteOf(new Date(minuteStart.getTime() - 60_000));
  const items = await queryAll(ctx.store, { pk: usageKeys.partition(project, workload), skPrefix: commonPrefix(previous, current) });
  let previousCount = 0;
  let currentCount = 0;
  for (const item of items) {
    const data = item.data as unknown as UsageItemData;
    if (data.minute !== current && data.minute !== previous) continue;
    let demand = 0;
    for (const part of Object.values(data.parts ?? {})) demand += part.demand?.[incarnation] ?? 0;
    if (data.minute === current) currentCount += demand;
    else previousCount += demand;
  }
  const elapsed = (now.getTime() - minuteStart.getTime()) / 60_000;
  return previousCount * (1 - elapsed) + currentCount;
}
