import type { EventPublisher, LifecycleEvent } from "../events/lifecycle";
import type { BlobStore } from "../gateway/blob-store";
import { randomBase62 } from "../ids";
import { keys, type PlatformContext } from "../platform/context";
import type { TransactWrite } from "../store";
import { type WorkloadRecord, workloadIncarnation } from "../workloads";
import type { JobQueue } from "./queue";
import { type JobInput, type JobMessage, JobMessageSchema, type JobRecord, type JobResult, isTerminal } from "./schema";
import { jobKeys, readJob, updateJob, withStatus } from "./store";

/** What running a job on a replica came to. */
export type ExecutionOutcome =
  | { kind: "succeeded"; result: JobResult }
  /** No ready replica (any more): the job waits for one without spending receives. */
  | { kind: "no_replica" }
  /** `retryable`: the replica was unreachable, overloaded or timed out; not: it refused the input (4xx). */
  | { kind: "failed"; retryable: boolean; code: string; message: string };

/** Runs a job against a ready replica of its workload (`replicaJobExecutor` calls the backend's native route). */
export interface JobExecutor {
  /** Whether the workload has a ready replica now (checked before a job is taken). */
  hasReadyReplica(project: string, workload: string): Promise<boolean>;
  /** `signal` aborts the call (the consumer is stopping): the outcome is then a retryable failure. */
  execute(job: JobRecord, input: JobInput, workload: WorkloadRecord, signal?: AbortSignal): Promise<ExecutionOutcome>;
}

export interface JobConsumerDeps {
  ctx: PlatformContext;
  executor: JobExecutor;
  /** Where results over the inline limit go (and inputs stored there are read from). */
  blobs?: BlobStore;
  events?: EventPublisher;
  /** The queue a message over a workload's in-flight cap is put back on (with a short delay). */
  queue?: JobQueue;
  /**
   * The queue's maximum receive count (SQS: the redrive policy's maxReceiveCount). The receive that
   * reaches it is the last: a retryable failure then marks the job failed instead of retrying.
   */
  maxReceives: number;
  /**
   * How long a taken job belongs to its consumer: longer than the longest call (its timeout), so a
   * duplicate never runs a job twice at once, and short enough that a crashed consumer's job is
   * taken over by the redelivered message. Default 600.
   */
  leaseSeconds?: number;
  /** The workload has jobs waiting for a replica: the controller hook that scales it up. */
  requestScaleUp?: (project: string, workload: string, incarnation: string) => void | Promise<void>;
  /** The per-workload in-flight cap: false puts the message back (delayed) untouched. Default: always admitted. */
  admit?: (project: string, workload: string) => boolean;
  /** Told when a job took its last step (to wake long polls). */
  onJobChange?: (job: JobRecord) => void;
  /** Aborted when the consumer stops: a running call is cut and its job retried later. */
  signal?: AbortSignal;
  log?: (line: string) => void;
}

/** `done`: delete the message. `retry`: leave it (it comes back after its visibility timeout; SQS: report it as a batch item failure). */
export type MessageOutcome = "done" | "retry";

/** Results up to this size stay in the job item (DynamoDB items are at most 400 KB). */
export const INLINE_RESULT_BYTES = 256 * 1024;
/** Inputs up to this size stay in the job item; larger ones go to the blob store. */
export const INLINE_INPUT_BYTES = 256 * 1024;

export function parseJobMessage(body: string): JobMessage | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return undefined;
  }
  const result = JobMessageSchema.safeParse(parsed);
  return result.success ? result.data : undefined;
}

/** A new blob key for a job's stored input or result. */
export function jobBlobKey(project: string, workload: string): string {
  return `${project}/${workload}/file_${randomBase62(24)}`;
}

/** The job's input, from the record or its blob; undefined when the blob is gone. */
export async function jobInput(job: JobRecord, blobs: BlobStore | undefined, now: Date): Promise<JobInput | undefined> {
  if (job.input_blob === undefined) return job.input as JobInput;
  const blob = await blobs?.get(job.input_blob, now);
  if (blob === undefined) return undefined;
  return JSON.parse(Buffer.from(blob.data).toString("utf8")) as JobInput;
}

/** The job's result, from the record or its blob (null when there is none, or its blob is gone). */
export async function jobResult(job: JobRecord, blobs: BlobStore | undefined, now: Date): Promise<unknown> {
  if (job.result_blob === undefined) return job.result ?? null;
  const blob = await blobs?.get(job.result_blob, now);
  if (blob === undefined) return null;
  return JSON.parse(Buffer.from(blob.data).toString("utf8"));
}

/** The outbox entry that gets a finished job's webhook delivered (written with the job's last step). */
export function webhookOutboxWrite(job: JobRecord): TransactWrite[] {
  if (job.webhook === null) return [];
  return [
    {
      kind: "put",
      item: { ...jobKeys.webhookOutboxEntry(job.project, job.workload, job.id), expiresAt: Math.floor(Date.parse(job.expires_at) / 1000), data: { job_id: job.id, project: job.project, workload: job.workload } },
      condition: { kind: "absent" },
    },
  ];
}

/** A finished job's record: its time, its retention from now, and a pending webhook delivery. */
export function finished(job: JobRecord, status: "succeeded" | "failed" | "cancelled" | "expired", at: Date, changes: Partial<JobRecord>): JobRecord {
  const iso = at.toISOString();
  return withStatus(job, status, iso, {
    ...changes,
    finished_at: iso,
    expires_at: new Date(at.getTime() + job.result_ttl_seconds * 1000).toISOString(),
    lease_until: undefined,
    webhook: job.webhook === null ? null : { url: job.webhook.url, delivery: { ...job.webhook.delivery, status: "pending", next_attempt_at: iso } },
  });
}

/**
 * Handles one job-queue message: the function every consumer (the SQS Lambda, the local loop) calls
 * with the message body and its receive count. Idempotent: a duplicate or redelivered message finds
 * the job already taken or finished and changes nothing. Never throws for a bad message (a poison
 * message is logged and dropped, `done`); throws only when the store itself fails (then the message
 * is retried like any other failure).
 *
 * - No ready replica: the job is parked `waiting` and the message deleted (a 5-minute boot does not
 *   burn receives); the controller re-enqueues it once a replica is ready.
 * - A retryable failure on the last receive (`maxReceives`) marks the job failed: it does not
 *   silently sit in a dead-letter queue.
 */
export async function processJobMessage(deps: JobConsumerDeps, body: string, receiveCount: number): Promise<MessageOutcome> {
  const { ctx } = deps;
  const log = deps.log ?? ((line: string) => console.error(line));
  const message = parseJobMessage(body);
  if (message === undefined) {
    log(`jobs: dropped a malformed queue message (${body.length} bytes; not a version-1 job message)`);
    return "done";
  }
  const { project, workload: slug, job_id: id } = message;
  const stored = await readJob(ctx, project, slug, id);
  if (stored === undefined) return "done";
  let job = stored.record;
  if (isTerminal(job.status)) return "done";
  const now = ctx.now();
  const nowIso = now.toISOString();
  const lastReceive = receiveCount >= deps.maxReceives;

  const workloadItem = await ctx.store.get(keys.workload(project, slug).pk, keys.workload(project, slug).sk);
  const record = workloadItem?.data as WorkloadRecord | undefined;
  if (record === undefined || record.deleted_at !== undefined || workloadIncarnation(record) !== job.incarnation) {
    await finish(deps, job, "failed", { error: { code: "workload_deleted", message: `Workload ${project}/${slug} was deleted before the job ran.` } });
    return "done";
  }

  if (job.status === "running") {
    // Another consumer has it (a duplicate message), unless its lease ran out (that consumer died).
    if (job.lease_until !== undefined && Date.parse(job.lease_until) > now.getTime()) return "retry";
  } else if (Date.parse(job.created_at) + job.max_queue_seconds * 1000 <= now.getTime()) {
    await finish(deps, job, "expired", {
      error: { code: "max_queue_seconds_exceeded", message: `The job did not start within max_queue_seconds (${job.max_queue_seconds} s).` },
    });
    return "done";
  }

  if (deps.admit !== undefined && deps.queue !== undefined && !deps.admit(project, slug)) {
    await deps.queue.send(message, { delaySeconds: 1 });
    return "done";
  }

  if (!(await deps.executor.hasReadyReplica(project, slug))) {
    await park(deps, job, nowIso);
    return "done";
  }

  const taken = await updateJob(ctx, project, slug, id, (current) => {
    if (current.status === "running" && current.lease_until !== undefined && Date.parse(current.lease_until) > now.getTime()) return undefined;
    if (current.status !== "queued" && current.status !== "waiting" && current.status !== "running") return undefined;
    return withStatus(current, "running", nowIso, {
      started_at: current.started_at ?? nowIso,
      attempts: current.attempts + 1,
      lease_until: new Date(now.getTime() + (deps.leaseSeconds ?? 600) * 1000).toISOString(),
    });
  });
  if (taken === undefined) return "done";
  if (!taken.changed) return isTerminal(taken.record.status) ? "done" : "retry";
  job = taken.record;

  const input = await jobInput(job, deps.blobs, now);
  if (input === undefined) {
    await finish(deps, job, "failed", { error: { code: "input_unavailable", message: "The job's stored input is no longer available." } });
    return "done";
  }
  let outcome: ExecutionOutcome;
  try {
    outcome = await deps.executor.execute(job, input, record, deps.signal);
  } catch (error) {
    outcome = { kind: "failed", retryable: true, code: "internal_error", message: error instanceof Error ? error.message : String(error) };
  }

  switch (outcome.kind) {
    case "succeeded": {
      const changes = await storeResult(deps, job, outcome.result);
      if (changes === undefined) {
        await finish(deps, job, "failed", {
          error: { code: "result_too_large", message: `The result exceeds ${INLINE_RESULT_BYTES} bytes and this deployment has no object storage to keep it.` },
        });
        return "done";
      }
      await finish(deps, job, "succeeded", { ...changes, error: null });
      return "done";
    }
    case "no_replica":
      await park(deps, job, ctx.now().toISOString());
      return "done";
    case "failed": {
      // A consumer that is stopping gives the job back whatever the receive count: it did not fail.
      const stopping = deps.signal?.aborted === true;
      if (!outcome.retryable || (lastReceive && !stopping)) {
        const message = lastReceive && outcome.retryable ? `${outcome.message} (gave up after ${receiveCount} attempts)` : outcome.message;
        await finish(deps, job, "failed", { error: { code: outcome.code, message } });
        return "done";
      }
      await updateJob(ctx, project, slug, id, (current) =>
        current.status === "running" && current.attempts === job.attempts
          ? withStatus(current, "queued", ctx.now().toISOString(), { lease_until: undefined, error: { code: outcome.code, message: outcome.message } })
          : undefined,
      );
      log(`jobs: ${project}/${slug} ${id} attempt ${job.attempts} failed (${outcome.code}); it will be retried`);
      return "retry";
    }
  }
}

/** The result inline, or in the blob store with a pointer; undefined when it is too large for the item and there is no blob store. */
async function storeResult(deps: JobConsumerDeps, job: JobRecord, result: JobResult): Promise<Partial<JobRecord> | undefined> {
  const text = JSON.stringify(result);
  if (Buffer.byteLength(text) <= INLINE_RESULT_BYTES) return { result };
  if (deps.blobs === undefined) return undefined;
  const key = jobBlobKey(job.project, job.workload);
  const expiresAt = new Date(deps.ctx.now().getTime() + job.result_ttl_seconds * 1000);
  await deps.blobs.put(key, { data: Buffer.from(text), contentType: "application/json", expiresAt });
  return { result: null, result_blob: key };
}

/** No replica is ready: the job waits (its message is deleted) and the workload is asked to scale up. */
async function park(deps: JobConsumerDeps, job: JobRecord, at: string): Promise<void> {
  const parked = await updateJob(deps.ctx, job.project, job.workload, job.id, (current) =>
    current.status === "queued" || current.status === "running" ? withStatus(current, "waiting", at, { lease_until: undefined }) : undefined,
  );
  if (parked?.changed) deps.onJobChange?.(parked.record);
  try {
    await deps.requestScaleUp?.(job.project, job.workload, job.incarnation);
  } catch (error) {
    deps.log?.(`jobs: the scale-up request for ${job.project}/${job.workload} failed: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/**
 * Moves a job to a terminal state (conditionally: only from a live state), with its webhook's
 * outbox entry in the same write, then publishes the lifecycle event.
 */
export async function finish(
  deps: Pick<JobConsumerDeps, "ctx" | "events" | "onJobChange" | "log">,
  job: JobRecord,
  status: "succeeded" | "failed" | "cancelled" | "expired",
  changes: Partial<JobRecord>,
  from: readonly JobRecord["status"][] = ["queued", "waiting", "running"],
): Promise<JobRecord | undefined> {
  const at = deps.ctx.now();
  const done = await updateJob(
    deps.ctx,
    job.project,
    job.workload,
    job.id,
    (current) => (from.includes(current.status) ? finished(current, status, at, changes) : undefined),
    webhookOutboxWrite,
  );
  if (done === undefined || !done.changed) return undefined;
  deps.onJobChange?.(done.record);
  if (status === "succeeded" || status === "failed" || status === "expired") {
    const event: LifecycleEvent = {
      type: status === "succeeded" ? "job.succeeded" : "job.failed",
      project: job.project,
      workload: job.workload,
      job_id: job.id,
      at: at.toISOString(),
    };
    try {
      await deps.events?.publish([event]);
    } catch (error) {
      deps.log?.(`jobs: publishing ${event.type} for ${job.id} failed: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  return done.record;
}
