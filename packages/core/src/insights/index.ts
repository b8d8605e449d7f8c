import { eventsPage } from "../events";
import { keys, type PlatformContext } from "../platform/context";
import { listWorkloadReplicas, type ReplicaPhase, type ReplicaRecord } from "../replicas";
import { queryAll } from "../store";
import { readUsage } from "../usage";
import type { WorkloadRecord } from "../workloads";

/**
 * What the console charts and lists about one workload over time, read from what the platform
 * already keeps: the replica lifecycle events (14 days), the replica records, the usage minutes.
 */

/** One replica as it lived: from its lifecycle events and, while it exists, its record. */
export interface ReplicaHistoryEntry {
  id: string;
  slot?: number;
  generation?: number;
  worker_id?: string;
  /** The current phase while the replica record exists; its last event's phase otherwise. */
  phase: ReplicaPhase | "removed";
  /** First time seen (record created, or its first event). */
  started_at: string;
  ready_at?: string;
  /** When it stopped serving (stopping, stopped, failed or removed), if it has. */
  ended_at?: string;
  restarts: number;
  last_reason?: string;
  /** Known while the record exists; 0 otherwise. */
  hourly_price_usd: number;
  /** GPUs it occupies, known while the record exists; 0 otherwise (and on CPU-only replicas). */
  gpus: number;
  transitions: { at: string; type: string; message: string }[];
}

/** Most events read for a history: enough for days of a busy workload, bounded for one request. */
const MAX_EVENTS = 2000;
const REPLICA_ID = /\brep_[A-Za-z0-9]{16}\b/;
const ENDING_TYPES = new Set([
  "ReplicaStopping",
  "ReplicaStopped",
  "ReplicaFailed",
  "ReplicaLost",
  "ReplicaRetrying",
]);

function phaseOfEvent(type: string): ReplicaPhase | "removed" | undefined {
  switch (type) {
    case "ReplicaPending":
      return "pending";
    case "ReplicaStarting":
      return "starting";
    case "ReplicaReady":
      return "ready";
    case "ReplicaFailed":
    case "ReplicaRetrying":
      return "failed";
    case "ReplicaStopping":
      return "stopping";
    case "ReplicaStopped":
      return "stopped";
    case "ReplicaLost":
      return "removed";
    default:
      return undefined;
  }
}

/** Every replica of the workload that its events (newest MAX_EVENTS) or the store still know, newest first. */
export async function replicaHistory(
  ctx: PlatformContext,
  project: string,
  workload: string,
): Promise<ReplicaHistoryEntry[]> {
  const events: { at: string; type: string; message: string }[] = [];
  let cursor: string | undefined;
  do {
    const page = await eventsPage(ctx, project, workload, {
      limit: 500,
      ...(cursor === undefined ? {} : { cursor }),
    });
    for (const event of page.data) events.push({ at: event.at, type: event.type, message: event.message });
    cursor = page.next_cursor;
  } while (cursor !== undefined && events.length < MAX_EVENTS);
  events.reverse(); // oldest first

  const entries = new Map<string, ReplicaHistoryEntry>();
  for (const event of events) {
    if (!event.type.startsWith("Replica")) continue;
    const id = REPLICA_ID.exec(event.message)?.[0];
    if (id === undefined) continue;
    const entry =
      entries.get(id) ??
      ({
        id,
        phase: "pending",
        started_at: event.at,
        restarts: 0,
        hourly_price_usd: 0,
        gpus: 0,
        transitions: [],
      } satisfies ReplicaHistoryEntry);
    entries.set(id, entry);
    entry.transitions.push(event);
    const phase = phaseOfEvent(event.type);
    if (phase !== undefined) entry.phase = phase;
    if (event.type === "ReplicaReady" && entry.ready_at === undefined) entry.ready_at = event.at;
    if (ENDING_TYPES.has(event.type) && entry.ended_at === undefined) entry.ended_at = event.at;
    if (event.type === "ReplicaFailed" || event.type === "ReplicaLost") entry.last_reason = event.message;
  }
  for (const { record } of await listWorkloadReplicas(ctx, project, workload)) {
    const entry = entries.get(record.id) ?? {
      id: record.id,
      phase: record.phase,
      started_at: record.created_at,
      restarts: 0,
      hourly_price_usd: 0,
      gpus: 0,
      transitions: [],
    };
    entries.set(record.id, mergeRecord(entry, record));
  }
  return [...entries.values()].sort((a, b) => b.started_at.localeCompare(a.started_at));
}

function mergeRecord(entry: ReplicaHistoryEntry, record: ReplicaRecord): ReplicaHistoryEntry {
  // While the record exists it says whether the replica still serves: an in-place restart that
  // became ready again is not an end.
  const ended =
    record.desired === "stopped" ||
    record.phase === "failed" ||
    record.phase === "stopped" ||
    record.phase === "stopping";
  const readyAt = entry.ready_at ?? record.ready_at;
  const { ended_at: _formerEnd, ready_at: _formerReady, ...rest } = entry;
  return {
    ...rest,
    slot: record.slot,
    generation: record.generation,
    worker_id: record.worker_id,
    phase: record.phase,
    started_at: [record.created_at, entry.started_at].sort()[0] ?? entry.started_at,
    ...(readyAt === undefined ? {} : { ready_at: readyAt }),
    ...(ended ? { ended_at: entry.ended_at ?? record.updated_at } : {}),
    restarts: record.restarts,
    ...(record.reason === undefined ? {} : { last_reason: record.reason }),
    hourly_price_usd: record.hourly_price_usd,
    gpus: record.gpu_indexes.length,
  };
}

/** One minute of a workload: traffic from the usage minutes, capacity from the replica history. */
export interface SeriesPoint {
  minute: string;
  requests: number;
  errors: number;
  total_tokens: number;
  latency_ms_p50: number;
  latency_ms_p99: number;
  /** Replicas ready at any time in the minute. */
  ready_replicas: number;
  /** Ready replica time in the minute, in hours. */
  replica_hours: number;
  /** Ready replica time times the GPUs each occupies, in hours. */
  gpu_hours: number;
  /** Ready replica time priced at each replica's hourly price. */
  cost_usd: number;
}

export interface WorkloadSeries {
  project: string;
  workload: string;
  from: string;
  to: string;
  points: SeriesPoint[];
  totals: {
    requests: number;
    errors: number;
    total_tokens: number;
    replica_hours: number;
    gpu_hours: number;
    cost_usd: number;
  };
}

/** Longest range one series request covers: 1440 points at most. */
export const MAX_SERIES_RANGE_MS = 24 * 3600 * 1000;

/** Per-minute series of a workload over [from, to): every minute present, zeros where nothing happened. */
export async function workloadSeries(
  ctx: PlatformContext,
  project: string,
  workload: string,
  range: { from: Date; to: Date },
): Promise<WorkloadSeries> {
  const start = Math.floor(range.from.getTime() / 60_000) * 60_000;
  const end = range.to.getTime();
  const [usage, history] = await Promise.all([
    readUsage(ctx, project, workload, { from: new Date(start), to: range.to }),
    replicaHistory(ctx, project, workload),
  ]);
  const byMinute = new Map(usage.by_minute.map((m) => [m.minute, m]));
  const now = ctx.now().getTime();
  const intervals = history
    .filter((r) => r.ready_at !== undefined)
    .map((r) => ({
      from: Date.parse(r.ready_at as string),
      to: r.ended_at === undefined ? now : Date.parse(r.ended_at),
      price: r.hourly_price_usd,
      gpus: r.gpus,
    }));
  const points: SeriesPoint[] = [];
  const totals = { requests: 0, errors: 0, total_tokens: 0, replica_hours: 0, gpu_hours: 0, cost_usd: 0 };
  for (let at = start; at < end; at += 60_000) {
    const minute = new Date(at).toISOString().slice(0, 16);
    const used = byMinute.get(minute);
    let ready = 0;
    let hours = 0;
    let gpuHours = 0;
    let cost = 0;
    for (const interval of intervals) {
      const overlap = Math.min(interval.to, at + 60_000, end) - Math.max(interval.from, at);
      if (overlap <= 0) continue;
      ready += 1;
      hours += overlap / 3_600_000;
      gpuHours += (overlap / 3_600_000) * interval.gpus;
      cost += (overlap / 3_600_000) * interval.price;
    }
    const point: SeriesPoint = {
      minute,
      requests: used?.requests ?? 0,
      errors: used?.errors ?? 0,
      total_tokens: used?.total_tokens ?? 0,
      latency_ms_p50: used?.latency_ms_p50 ?? 0,
      latency_ms_p99: used?.latency_ms_p99 ?? 0,
      ready_replicas: ready,
      replica_hours: round(hours),
      gpu_hours: round(gpuHours),
      cost_usd: round(cost),
    };
    points.push(point);
    totals.requests += point.requests;
    totals.errors += point.errors;
    totals.total_tokens += point.total_tokens;
    totals.replica_hours += hours;
    totals.gpu_hours += gpuHours;
    totals.cost_usd += cost;
  }
  totals.replica_hours = round(totals.replica_hours);
  totals.gpu_hours = round(totals.gpu_hours);
  totals.cost_usd = round(totals.cost_usd);
  return {
    project,
    workload,
    from: new Date(start).toISOString(),
    to: range.to.toISOString(),
    points,
    totals,
  };
}

function round(value: number): number {
  return Math.round(value * 1e6) / 1e6;
}

/** Now, per workload of a project: what it costs per hour and how busy it is. */
export interface WorkloadRate {
  slug: string;
  /** Requests per minute, averaged over the last 5 minutes of flushed usage. */
  requests_per_minute: number;
  /** Sum of the hourly prices of its replicas that run now (starting or ready). */
  cost_per_hour_usd: number;
}

const RATE_WINDOW_MS = 5 * 60_000;

export async function projectRates(ctx: PlatformContext, project: string): Promise<WorkloadRate[]> {
  const items = await queryAll(ctx.store, {
    pk: keys.workload(project, "").pk,
    skPrefix: keys.workloadPrefix(),
  });
  const to = ctx.now();
  const from = new Date(to.getTime() - RATE_WINDOW_MS);
  const records = items
    .map((item) => item.data as unknown as WorkloadRecord)
    .filter((record) => record.deleted_at === undefined);
  return Promise.all(
    records.map(async (record) => {
      const [usage, replicas] = await Promise.all([
        readUsage(ctx, project, record.slug, { from, to }),
        listWorkloadReplicas(ctx, project, record.slug),
      ]);
      const running = replicas
        .map((r) => r.record)
        .filter((r) => r.desired === "running" && (r.phase === "ready" || r.phase === "starting"));
      return {
        slug: record.slug,
        requests_per_minute: round(usage.totals.requests / (RATE_WINDOW_MS / 60_000)),
        cost_per_hour_usd: round(running.reduce((sum, r) => sum + r.hourly_price_usd, 0)),
      };
    }),
  );
}
