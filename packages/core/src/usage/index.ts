import { ConditionFailedError } from "../errors";
import { readEstimatedCost } from "../capacity/status";
import { randomBase62 } from "../ids";
import type { PlatformContext } from "../platform/context";
import { queryAll, type StoreItem } from "../store";

/**
 * Usage of the data plane per workload, key and minute. Each gateway instance aggregates in memory
 * and flushes periodically (in Lambda, before each invocation ends). Every instance writes its own
 * cumulative totals of a (workload, minute, key) into an item of its own, keyed by its instance id:
 * a plain write, no read first, no contention between instances (500 Lambda instances write 500
 * items, not one hot item), and a retried or repeated flush writes the same numbers again
 * (idempotent by construction). Readers sum the items of a minute.
 *
 * Closed hours are rolled up (per minute across keys, per key across the hour) into a few items of
 * their own, so a 31-day read touches about 1,500 small items whatever the traffic was: written by
 * `rollUpUsageHour` (the controller's project pass does it for the last closed hour; a reader that
 * finds a closed hour without its roll-up writes it).
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
  /** One gateway instance's counters of a (minute, key); items written before instances had their own lack `instance`. */
  sort: (minute: string, keyId: string, instanceId?: string) => (instanceId === undefined ? `${minute}#${keyId}` : `${minute}#${keyId}#${instanceId}`),
  /** Hourly roll-ups of a workload. */
  rollUpPartition: (project: string, workload: string) => `USAGEHOUR#${project}#${workload}`,
  /** The hour's per-minute counters (across keys); present only once the hour's roll-up is complete. */
  rollUpMinutes: (hour: string) => `${hour}#minutes`,
  /** The hour's per-key counters, in chunks of ROLL_UP_KEYS_PER_ITEM keys. */
  rollUpKeys: (hour: string, chunk: number) => `${hour}#keys#${String(chunk).padStart(4, "0")}`,
};

/**
 * How long after an hour ends its minutes may still receive flushes: a Lambda invocation lasts at
 * most 15 minutes and flushes before it ends, plus a margin. A roll-up is written only after this,
 * and is final: a flush later still (an instance whose store writes kept failing) is not in it.
 */
export const USAGE_LATE_FLUSH_MS = 20 * 60_000;
/** Keys per roll-up item: ~250 bytes each keeps an item far below DynamoDB's 400 KB. */
const ROLL_UP_KEYS_PER_ITEM = 500;

/** Hour bucket of an instant: `2025-06-02T10` (UTC). */
export function hourOf(at: Date): string {
  return at.toISOString().slice(0, 13);
}

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
  /** The gateway instance whose cumulative counters these are. */
  instance?: string;
  counters?: UsageCounters;
  /** Servable requests per workload incarnation. */
  demand?: Record<string, number>;
  /** Items written before each instance had its own: cumulative counters per gateway instance. */
  parts?: Record<string, UsagePart>;
}

/** The per-instance counters an item holds (one, or several in the items of before). */
function partsOf(data: UsageItemData): UsagePart[] {
  if (data.parts !== undefined) return Object.values(data.parts);
  return data.counters === undefined ? [] : [{ ...data.counters, ...(data.demand === undefined ? {} : { demand: data.demand }) }];
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

  /** This instance's item of the bucket holds only its own totals: an unconditional write, idempotent. */
  private async write(bucket: Bucket, part: UsagePart): Promise<void> {
    const { demand, ...counters } = part;
    const data: UsageItemData = {
      project: bucket.project,
      workload: bucket.workload,
      minute: bucket.minute,
      key_id: bucket.keyId,
      instance: this.instanceId,
      counters,
      demand: demand ?? {},
    };
    await this.ctx.store.put(
      {
        pk: usageKeys.partition(bucket.project, bucket.workload),
        sk: usageKeys.sort(bucket.minute, bucket.keyId, this.instanceId),
        expiresAt: retentionExpiry(bucket.minute, this.options.retentionDays),
        data: { ...data },
      },
      { kind: "any" },
    );
  }
}

function retentionExpiry(minuteOrHour: string, retentionDays = 90): number {
  const start = minuteOrHour.length === 13 ? `${minuteOrHour}:00:00Z` : `${minuteOrHour}:00Z`;
  return Math.floor(Date.parse(start) / 1000) + retentionDays * 86_400;
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

/** Where a read adds what it finds. */
class UsageTally {
  readonly totals = emptyCounters();
  readonly byKey = new Map<string, UsageCounters>();
  readonly byMinute = new Map<string, UsageCounters>();

  addMinute(minute: string, counters: UsageCounters): void {
    addCounters(this.totals, counters);
    addCounters(mapEntry(this.byMinute, minute), counters);
  }

  addKey(keyId: string, counters: UsageCounters): void {
    addCounters(mapEntry(this.byKey, keyId), counters);
  }
}

function mapEntry(map: Map<string, UsageCounters>, name: string): UsageCounters {
  let entry = map.get(name);
  if (entry === undefined) {
    entry = emptyCounters();
    map.set(name, entry);
  }
  return entry;
}

/** The minute items of one hour (`2025-06-02T10`) or one minute prefix. */
function minuteItems(ctx: PlatformContext, project: string, workload: string, prefix: string): Promise<StoreItem[]> {
  return queryAll(ctx.store, { pk: usageKeys.partition(project, workload), skPrefix: prefix });
}

/** Adds the minute items within [fromMinute, lastMinute] to the tally. */
function tallyMinuteItems(tally: UsageTally, items: StoreItem[], fromMinute: string, lastMinute: string): void {
  for (const item of items) {
    const data = item.data as unknown as UsageItemData;
    if (data.minute < fromMinute || data.minute > lastMinute) continue;
    const counters = emptyCounters();
    for (const part of partsOf(data)) addCounters(counters, part);
    tally.addMinute(data.minute, counters);
    tally.addKey(data.key_id, counters);
  }
}

interface RollUpMinutesData {
  hour: string;
  by_minute: Record<string, UsageCounters>;
  key_chunks: number;
}

interface RollUpKeysData {
  hour: string;
  by_key: Record<string, UsageCounters>;
}

/** A complete roll-up of one hour, as read back. */
interface HourRollUp {
  byMinute: Record<string, UsageCounters>;
  byKey: Record<string, UsageCounters>;
}

/** Whether every flush of the hour has had time to land (see USAGE_LATE_FLUSH_MS). */
export function hourIsClosed(hour: string, now: Date): boolean {
  return Date.parse(`${hour}:00:00Z`) + 3_600_000 + USAGE_LATE_FLUSH_MS <= now.getTime();
}

/**
 * Sums a closed hour's minute items into its roll-up and stores it (create-only: a concurrent
 * roll-up of the same hour writes the same numbers and one of them wins). The per-key chunks go
 * first and the per-minute item last: readers take an hour as rolled up only once that item exists
 * and every chunk it names is there. Returns the roll-up, or undefined for an hour not yet closed.
 */
export async function rollUpUsageHour(
  ctx: PlatformContext,
  project: string,
  workload: string,
  hour: string,
  options: { retentionDays?: number } = {},
): Promise<HourRollUp | undefined> {
  if (!hourIsClosed(hour, ctx.now())) return undefined;
  const tally = new UsageTally();
  tallyMinuteItems(tally, await minuteItems(ctx, project, workload, hour), `${hour}:00`, `${hour}:59`);
  const byMinute = Object.fromEntries(tally.byMinute);
  const byKey = Object.fromEntries(tally.byKey);
  const keyIds = [...tally.byKey.keys()].sort();
  const chunks: string[][] = [];
  for (let i = 0; i < keyIds.length; i += ROLL_UP_KEYS_PER_ITEM) chunks.push(keyIds.slice(i, i + ROLL_UP_KEYS_PER_ITEM));
  const pk = usageKeys.rollUpPartition(project, workload);
  const expiresAt = retentionExpiry(hour, options.retentionDays);
  const create = async (sk: string, data: Record<string, unknown>) => {
    try {
      await ctx.store.put({ pk, sk, expiresAt, data }, { kind: "absent" });
    } catch (error) {
      if (!(error instanceof ConditionFailedError)) throw error;
    }
  };
  for (const [index, chunk] of chunks.entries()) {
    const data: RollUpKeysData = { hour, by_key: Object.fromEntries(chunk.map((keyId) => [keyId, byKey[keyId] as UsageCounters])) };
    await create(usageKeys.rollUpKeys(hour, index), { ...data });
  }
  const minutes: RollUpMinutesData = { hour, by_minute: byMinute, key_chunks: chunks.length };
  await create(usageKeys.rollUpMinutes(hour), { ...minutes });
  return { byMinute, byKey };
}

/** The complete roll-ups among the hours [firstHour, lastHour]. */
async function readRollUps(ctx: PlatformContext, project: string, workload: string, firstHour: string, lastHour: string): Promise<Map<string, HourRollUp>> {
  const items = await queryAll(ctx.store, { pk: usageKeys.rollUpPartition(project, workload), skPrefix: commonPrefix(firstHour, lastHour) });
  const minutes = new Map<string, RollUpMinutesData>();
  const keyChunks = new Map<string, RollUpKeysData[]>();
  for (const item of items) {
    const hour = (item.data as { hour?: string }).hour;
    if (hour === undefined || hour < firstHour || hour > lastHour) continue;
    if (item.sk === usageKeys.rollUpMinutes(hour)) minutes.set(hour, item.data as unknown as RollUpMinutesData);
    else keyChunks.set(hour, [...(keyChunks.get(hour) ?? []), item.data as unknown as RollUpKeysData]);
  }
  const complete = new Map<string, HourRollUp>();
  for (const [hour, data] of minutes) {
    const chunks = keyChunks.get(hour) ?? [];
    if (chunks.length !== data.key_chunks) continue;
    complete.set(hour, { byMinute: data.by_minute, byKey: Object.assign({}, ...chunks.map((c) => c.by_key)) });
  }
  return complete;
}

/** Hours read or rolled up at once by a reader that finds closed hours without a roll-up. */
const ROLL_UP_PARALLELISM = 8;

/**
 * Usage of one workload between two instants, for the control API. Whole closed hours come from
 * their roll-ups (written here when missing); the partial hours at the ends and the hours still open
 * come from the minute items. A 31-day range reads about 744 roll-ups plus at most a few hours of
 * minute items.
 */
export async function readUsage(
  ctx: PlatformContext,
  project: string,
  workload: string,
  range: { from: Date | string; to: Date | string },
): Promise<UsageReport> {
  const from = new Date(range.from);
  const to = new Date(range.to);
  const tally = new UsageTally();
  if (to.getTime() > from.getTime()) {
    const fromMinute = minuteOf(from);
    // The last minute that starts before `to`.
    const lastMinute = minuteOf(new Date(to.getTime() - 1));
    const firstHourMs = Date.parse(`${fromMinute.slice(0, 13)}:00:00Z`);
    const lastHourMs = Date.parse(`${lastMinute.slice(0, 13)}:00:00Z`);
    const hours: { hour: string; whole: boolean }[] = [];
    for (let at = firstHourMs; at <= lastHourMs; at += 3_600_000) {
      const hour = hourOf(new Date(at));
      hours.push({ hour, whole: fromMinute <= `${hour}:00` && lastMinute >= `${hour}:59` });
    }
    const rollUps = await readRollUps(ctx, project, workload, hourOf(new Date(firstHourMs)), hourOf(new Date(lastHourMs)));
    const now = ctx.now();
    const pending = hours.filter(({ hour }) => !rollUps.has(hour));
    for (let i = 0; i < pending.length; i += ROLL_UP_PARALLELISM) {
      await Promise.all(
        pending.slice(i, i + ROLL_UP_PARALLELISM).map(async ({ hour, whole }) => {
          const rolled = whole && hourIsClosed(hour, now) ? await rollUpUsageHour(ctx, project, workload, hour) : undefined;
          if (rolled !== undefined) rollUps.set(hour, rolled);
          else tallyMinuteItems(tally, await minuteItems(ctx, project, workload, hour), fromMinute, lastMinute);
        }),
      );
    }
    for (const { hour, whole } of hours) {
      const rollUp = rollUps.get(hour);
      if (rollUp === undefined) continue;
      if (!whole) {
        // A partial hour at an end of the range: its by-key counters cover the whole hour, so read its minutes.
        tallyMinuteItems(tally, await minuteItems(ctx, project, workload, hour), fromMinute, lastMinute);
        continue;
      }
      for (const [minute, counters] of Object.entries(rollUp.byMinute)) tally.addMinute(minute, counters);
      for (const [keyId, counters] of Object.entries(rollUp.byKey)) tally.addKey(keyId, counters);
    }
  }
  return {
    project,
    workload,
    from: `${minuteOf(from)}:00.000Z`,
    to: to.toISOString(),
    totals: summarize(tally.totals),
    estimated_cost_usd: await readEstimatedCost(ctx, project, workload, { from, to }),
    by_key: [...tally.byKey].map(([keyId, c]) => ({ key_id: keyId, ...summarize(c) })),
    by_minute: [...tally.byMinute].sort(([a], [b]) => a.localeCompare(b)).map(([minute, c]) => ({ minute, ...summarize(c) })),
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
    for (const part of partsOf(data)) demand += part.demand?.[incarnation] ?? 0;
    if (data.minute === current) currentCount += demand;
    else previousCount += demand;
  }
  const elapsed = (now.getTime() - minuteStart.getTime()) / 60_000;
  return previousCount * (1 - elapsed) + currentCount;
}
