import { createHash } from "node:crypto";
import { ConditionFailedError } from "../errors";
import { BASE62, randomBase62 } from "../ids";
import type { PlatformContext } from "../platform/context";
import type { NewItem, StoreItem, TransactWrite } from "../store";
import { canTransition, decodeJob, type JobRecord, type JobStatus } from "./schema";

/**
 * Where jobs live in the single table. A job is one item under its workload (newest last: ids sort
 * by creation time), indexed (gsi1) by workload and status so the controller finds queued and
 * waiting jobs per workload and listings filter by status. The idempotency claim is a second item,
 * written in the same transaction as the job. Pending webhook deliveries are an outbox partition.
 */
export const jobKeys = {
  job: (project: string, workload: string, id: string) => ({ pk: `JOB#${project}#${workload}`, sk: id }),
  workloadJobs: (project: string, workload: string) => `JOB#${project}#${workload}`,
  byStatus: (project: string, workload: string, status: JobStatus) => `JOBST#${project}#${workload}#${status}`,
  idempotency: (project: string, workload: string, key: string) => ({ pk: `JOBIDEM#${project}#${workload}`, sk: key }),
  webhookOutbox: () => "JOBHOOK",
  webhookOutboxEntry: (project: string, workload: string, id: string) => ({ pk: "JOBHOOK", sk: `${project}#${workload}#${id}` }),
};

/** ms since the epoch in 8 base62 characters: fixed width, so ids sort by creation time until the year 8900. */
function timePrefix(ms: number): string {
  let out = "";
  let value = Math.max(0, Math.floor(ms));
  for (let i = 0; i < 8; i++) {
    out = BASE62[value % 62] + out;
    value = Math.floor(value / 62);
  }
  return out;
}

/** `job_` + creation time (sortable) + 12 random characters. */
export function newJobId(now: Date): string {
  return `job_${timePrefix(now.getTime())}${randomBase62(12)}`;
}

export const JOB_ID_PATTERN = /^job_[0-9A-Za-z]{4,64}$/;

/** JSON with object keys sorted at every level: equal values give equal text. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value) ?? "null";
}

export function digestOf(value: unknown): string {
  return createHash("sha256").update(canonicalJson(value)).digest("hex");
}

export function epochSeconds(iso: string): number {
  return Math.floor(Date.parse(iso) / 1000);
}

/** The store item of a job: indexed by status; dropped by the store once `expires_at` passes. */
export function jobItem(record: JobRecord): NewItem {
  return {
    ...jobKeys.job(record.project, record.workload, record.id),
    gsi1pk: jobKeys.byStatus(record.project, record.workload, record.status),
    gsi1sk: record.id,
    expiresAt: epochSeconds(record.expires_at),
    data: { ...record },
  };
}

export interface StoredJob {
  record: JobRecord;
  version: number;
}

/** The job, or undefined when missing or past its retention (filtered here too: DynamoDB's TTL deletes late). */
export async function readJob(ctx: PlatformContext, project: string, workload: string, id: string): Promise<StoredJob | undefined> {
  if (!JOB_ID_PATTERN.test(id)) return undefined;
  const key = jobKeys.job(project, workload, id);
  const item = await ctx.store.get(key.pk, key.sk);
  return storedJob(ctx, item);
}

export function storedJob(ctx: PlatformContext, item: StoreItem | undefined): StoredJob | undefined {
  if (item === undefined) return undefined;
  const record = decodeJob(item.data);
  if (Date.parse(record.expires_at) <= ctx.now().getTime()) return undefined;
  return { record, version: item.version };
}

/** Appends a status to a record (its time in `history`), keeping every other field. */
export function withStatus(record: JobRecord, status: JobStatus, at: string, changes: Partial<JobRecord> = {}): JobRecord {
  return { ...record, ...changes, status, history: [...record.history, { status, at }] };
}

export class IllegalTransitionError extends Error {
  constructor(
    readonly from: JobStatus,
    readonly to: JobStatus,
  ) {
    super(`a job cannot go from ${from} to ${to}`);
    this.name = "IllegalTransitionError";
  }
}

/**
 * Changes a job with a conditional write: `change` sees the current record and returns the next
 * one (or undefined to leave it). The write holds only if nobody changed the job since it was read;
 * on a conflict the change is re-evaluated on the fresh record, so two consumers of duplicate
 * messages cannot both move a job (the loser sees the winner's state and returns undefined).
 * `also` adds writes that must land with it (e.g. the webhook outbox entry).
 */
export async function updateJob(
  ctx: PlatformContext,
  project: string,
  workload: string,
  id: string,
  change: (current: JobRecord) => JobRecord | undefined,
  also: (next: JobRecord) => TransactWrite[] = () => [],
): Promise<{ record: JobRecord; changed: boolean } | undefined> {
  for (let attempt = 0; attempt < 10; attempt++) {
    const current = await readJob(ctx, project, workload, id);
    if (current === undefined) return undefined;
    const next = change(current.record);
    if (next === undefined) return { record: current.record, changed: false };
    if (next.status !== current.record.status || next.history.length !== current.record.history.length) {
      if (!canTransition(current.record.status, next.status)) throw new IllegalTransitionError(current.record.status, next.status);
    }
    try {
      const extra = also(next);
      if (extra.length === 0) await ctx.store.put(jobItem(next), { kind: "version", version: current.version });
      else await ctx.store.transact([{ kind: "put", item: jobItem(next), condition: { kind: "version", version: current.version } }, ...extra]);
      return { record: next, changed: true };
    } catch (error) {
      if (!(error instanceof ConditionFailedError)) throw error;
    }
  }
  throw new ConditionFailedError(jobKeys.workloadJobs(project, workload), id);
}

/** Jobs of a workload in one status (via the status index), oldest first, up to `limit`. */
export async function jobsInStatus(ctx: PlatformContext, project: string, workload: string, status: JobStatus, limit = 1000): Promise<JobRecord[]> {
  const out: JobRecord[] = [];
  let cursor: string | undefined;
  const now = ctx.now().getTime();
  do {
    const page = await ctx.store.query({
      pk: jobKeys.byStatus(project, workload, status),
      index: "gsi1",
      limit: Math.min(500, limit - out.length),
      ...(cursor === undefined ? {} : { cursor }),
    });
    for (const item of page.items) {
      const record = decodeJob(item.data);
      // The index can lag the item (DynamoDB): keep only records really in this status.
      if (record.status === status && Date.parse(record.expires_at) > now) out.push(record);
    }
    cursor = page.cursor;
  } while (cursor !== undefined && out.length < limit);
  return out;
}

/** Queued and waiting jobs of a workload, counted up to `cap`: the autoscaler's queued-jobs signal. */
export async function pendingJobCount(ctx: PlatformContext, project: string, workload: string, cap = 1000): Promise<number> {
  const queued = await jobsInStatus(ctx, project, workload, "queued", cap);
  if (queued.length >= cap) return cap;
  const waiting = await jobsInStatus(ctx, project, workload, "waiting", cap - queued.length);
  return queued.length + waiting.length;
}
