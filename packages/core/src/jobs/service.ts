import { ConditionFailedError, ValidationError } from "../errors";
import type { BlobStore } from "../gateway/blob-store";
import type { PlatformContext } from "../platform/context";
import { formatPath } from "../spec/validate";
import { openCursor, signCursor } from "../store/signed-cursor";
import { type WorkloadRecord, workloadIncarnation } from "../workloads";
import { finish, INLINE_INPUT_BYTES, jobBlobKey, jobResult } from "./consumer";
import type { JobQueue } from "./queue";
import {
  DEFAULT_MAX_QUEUE_SECONDS,
  DEFAULT_RESULT_TTL_SECONDS,
  isJobTaskType,
  JobIdempotencyClaimSchema,
  JOB_INPUT_SCHEMAS,
  JOB_MESSAGE_VERSION,
  JOB_STATUSES,
  type JobInput,
  type JobRecord,
  type JobStatus,
  type JobsConfig,
  MAX_JOB_INPUT_BYTES,
  MAX_QUEUE_SECONDS_LIMIT,
  toWireJob,
  type WireJob,
} from "./schema";
import { digestOf, epochSeconds, jobItem, jobKeys, jobsInStatus, newJobId, readJob, storedJob, updateJob, withStatus } from "./store";
import { checkWebhookUrl } from "./webhooks";

/** A refusal of the jobs API, with its data-plane code (the gateway maps it to its error shape). */
export class JobApiError extends Error {
  constructor(
    readonly status: 400 | 404 | 409 | 413,
    readonly code: "job_not_found" | "idempotency_key_reused" | "job_not_cancellable" | "payload_too_large",
    message: string,
  ) {
    super(message);
    this.name = "JobApiError";
  }
}

export interface JobsServiceDeps {
  ctx: PlatformContext;
  queue: JobQueue;
  blobs?: BlobStore;
  /** Lets webhook URLs be http and name private addresses (`npm start` default). */
  allowPrivateWebhooks?: boolean;
  log?: (line: string) => void;
  onJobChange?: (job: JobRecord) => void;
}

/** The workload's `jobs` block with defaults filled in. */
export function jobsConfigOf(record: WorkloadRecord): { max_queue_seconds: number; result_ttl_seconds: number } {
  const config = (record.spec as { jobs?: JobsConfig }).jobs;
  return {
    max_queue_seconds: config?.max_queue_seconds ?? DEFAULT_MAX_QUEUE_SECONDS,
    result_ttl_seconds: config?.result_ttl_seconds ?? DEFAULT_RESULT_TTL_SECONDS,
  };
}

const RESERVED_FIELDS = ["webhook", "max_queue_seconds"] as const;

function issuesToDetails(issues: readonly { code: string; path: PropertyKey[]; message: string; keys?: string[] }[]) {
  return issues.map((issue) => {
    const path = issue.code === "unrecognized_keys" ? [...issue.path, ...(issue.keys ?? [])] : issue.path;
    return {
      path: formatPath(path as (string | number)[]),
      message: issue.code === "unrecognized_keys" ? `unknown field(s): ${(issue.keys ?? []).join(", ")}` : issue.message,
    };
  });
}

export interface SubmitInput {
  workload: WorkloadRecord;
  /** The parsed JSON body: the task's input plus the reserved `webhook` and `max_queue_seconds`. */
  body: unknown;
  idempotencyKey?: string;
}

/**
 * Creates a job and puts it on the queue. With an Idempotency-Key (scoped to the workload, kept for
 * the job's retention) the same key and body give the same job (`created: false`), a different body
 * a 409 `idempotency_key_reused`. The job is written before the message is sent: a lost send leaves
 * a queued job the controller re-enqueues (`requeueStaleJobs`).
 */
export async function submitJob(deps: JobsServiceDeps, submit: SubmitInput): Promise<{ job: WireJob; created: boolean }> {
  const { ctx } = deps;
  const { workload } = submit;
  const taskType = workload.spec.task_type;
  if (!isJobTaskType(taskType)) {
    throw new ValidationError(`Workload ${workload.project}/${workload.slug} has task_type ${taskType}, which takes no jobs.`, [
      { path: "task_type", message: "jobs run only on reranker, classification and reward workloads", received: taskType },
    ]);
  }
  if (submit.body === null || typeof submit.body !== "object" || Array.isArray(submit.body)) {
    throw new ValidationError("The job body must be a JSON object.", [{ path: "", message: "not a JSON object", expected: "an object with the task's input" }]);
  }
  const { webhook: webhookField, max_queue_seconds: maxQueueField, ...input } = submit.body as Record<string, unknown>;
  if ("model" in input) {
    throw new ValidationError("A job body has no `model`: the workload's model runs it.", [
      { path: "model", message: "not accepted in a job body", received: input.model, expected: "the task's input only" },
    ]);
  }
  const parsed = JOB_INPUT_SCHEMAS[taskType].safeParse(input);
  if (!parsed.success) {
    throw new ValidationError(`The ${taskType} job input is invalid.`, issuesToDetails(parsed.error.issues as never));
  }
  const inputBytes = Buffer.byteLength(JSON.stringify(parsed.data));
  if (inputBytes > MAX_JOB_INPUT_BYTES) {
    throw new JobApiError(413, "payload_too_large", `The job input is ${inputBytes} bytes; the limit is ${MAX_JOB_INPUT_BYTES} (1 MiB).`);
  }
  // Without object storage an input lives in the job item, which the store bounds.
  if (inputBytes > INLINE_INPUT_BYTES && deps.blobs === undefined) {
    throw new JobApiError(
      413,
      "payload_too_large",
      `The job input is ${inputBytes} bytes; this deployment has no object storage, so it keeps inputs up to ${INLINE_INPUT_BYTES} bytes.`,
    );
  }
  const config = jobsConfigOf(workload);
  let maxQueueSeconds = config.max_queue_seconds;
  if (maxQueueField !== undefined) {
    if (typeof maxQueueField !== "number" || !Number.isInteger(maxQueueField) || maxQueueField < 1 || maxQueueField > MAX_QUEUE_SECONDS_LIMIT) {
      throw new ValidationError("max_queue_seconds is invalid.", [
        { path: "max_queue_seconds", message: "not a whole number of seconds in range", received: maxQueueField, expected: `an integer from 1 to ${MAX_QUEUE_SECONDS_LIMIT}` },
      ]);
    }
    maxQueueSeconds = maxQueueField;
  }
  let webhookUrl: string | undefined;
  if (webhookField !== undefined && webhookField !== null) {
    const url = (webhookField as { url?: unknown }).url;
    if (typeof webhookField !== "object" || Array.isArray(webhookField) || Object.keys(webhookField).some((k) => k !== "url") || typeof url !== "string") {
      throw new ValidationError("webhook is invalid.", [
        { path: "webhook", message: "must be an object with only `url`", received: webhookField, expected: '{"url": "https://..."}' },
      ]);
    }
    const problem = checkWebhookUrl(url, deps.allowPrivateWebhooks === true);
    if (problem !== undefined) throw new ValidationError("webhook.url is not accepted.", [{ path: "webhook.url", message: problem, received: url.slice(0, 200) }]);
    webhookUrl = url;
  }

  const digest = digestOf({ input: parsed.data, webhook: webhookUrl ?? null, max_queue_seconds: maxQueueSeconds });
  const key = submit.idempotencyKey;
  if (key !== undefined) {
    const existing = await jobForKey(deps, workload, key, digest);
    if (existing !== undefined) return { job: existing, created: false };
  }

  const now = ctx.now();
  const nowIso = now.toISOString();
  const id = newJobId(now);
  const expiresAt = new Date(now.getTime() + (maxQueueSeconds + config.result_ttl_seconds) * 1000).toISOString();
  const record: JobRecord = {
    id,
    project: workload.project,
    workload: workload.slug,
    incarnation: workloadIncarnation(workload),
    task_type: taskType,
    status: "queued",
    created_at: nowIso,
    started_at: null,
    finished_at: null,
    expires_at: expiresAt,
    history: [{ status: "queued", at: nowIso }],
    attempts: 0,
    max_queue_seconds: maxQueueSeconds,
    result_ttl_seconds: config.result_ttl_seconds,
    idempotency_key: key ?? null,
    body_digest: digest,
    result: null,
    error: null,
    webhook:
      webhookUrl === undefined
        ? null
        : { url: webhookUrl, delivery: { status: "pending", attempts: 0, last_status: null, last_error: null, delivered_at: null, next_attempt_at: null } },
    enqueued_at: nowIso,
  };
  if (inputBytes > INLINE_INPUT_BYTES && deps.blobs !== undefined) {
    const blobKey = jobBlobKey(workload.project, workload.slug);
    await deps.blobs.put(blobKey, { data: Buffer.from(JSON.stringify(parsed.data)), contentType: "application/json", expiresAt: new Date(expiresAt) });
    record.input_blob = blobKey;
  } else {
    record.input = parsed.data;
  }
  const writes = [{ kind: "put" as const, item: jobItem(record), condition: { kind: "absent" as const } }];
  if (key !== undefined) {
    writes.push({
      kind: "put",
      item: { ...jobKeys.idempotency(workload.project, workload.slug, key), expiresAt: epochSeconds(expiresAt), data: { job_id: id, body_digest: digest } },
      condition: { kind: "absent" },
    });
  }
  try {
    await ctx.store.transact(writes);
  } catch (error) {
    // Two submits with one key at once: the loser answers the winner's job (or the 409).
    if (error instanceof ConditionFailedError && key !== undefined) {
      const existing = await jobForKey(deps, workload, key, digest);
      if (existing !== undefined) return { job: existing, created: false };
    }
    throw error;
  }
  await enqueue(deps, record);
  return { job: toWireJob(record), created: true };
}

/**
 * Sends the job's message. A failure is logged, not thrown (the job is stored): the job is marked
 * `unsent`, which the controller's next upkeep re-sends; a send lost without a trace (the process
 * died in between) is re-sent once the job has been queued `staleAfterSeconds`.
 */
export async function enqueue(deps: Pick<JobsServiceDeps, "ctx" | "queue" | "log">, job: JobRecord): Promise<boolean> {
  const log = deps.log ?? ((line: string) => console.error(line));
  try {
    await deps.queue.send({ version: JOB_MESSAGE_VERSION, type: "job", job_id: job.id, project: job.project, workload: job.workload });
  } catch (error) {
    log(`jobs: sending ${job.id} of ${job.project}/${job.workload} to the queue failed (the controller re-sends it): ${error instanceof Error ? error.message : String(error)}`);
    await updateJob(deps.ctx, job.project, job.workload, job.id, (current) =>
      current.status === "queued" && current.unsent !== true ? { ...current, unsent: true } : undefined,
    ).catch(() => undefined);
    return false;
  }
  if (job.unsent === true) {
    await updateJob(deps.ctx, job.project, job.workload, job.id, (current) => (current.unsent === true ? { ...current, unsent: undefined } : undefined)).catch(
      () => undefined,
    );
  }
  return true;
}

async function jobForKey(deps: JobsServiceDeps, workload: WorkloadRecord, key: string, digest: string): Promise<WireJob | undefined> {
  const claim = jobKeys.idempotency(workload.project, workload.slug, key);
  const item = await deps.ctx.store.get(claim.pk, claim.sk);
  if (item === undefined || (item.expiresAt !== undefined && item.expiresAt * 1000 <= deps.ctx.now().getTime())) return undefined;
  const data = JobIdempotencyClaimSchema.parse(item.data);
  if (data.body_digest !== digest) {
    throw new JobApiError(
      409,
      "idempotency_key_reused",
      `Idempotency-Key ${JSON.stringify(key.slice(0, 64))} was used for job ${data.job_id} with a different body; use a new key for a different job.`,
    );
  }
  const job = await readJob(deps.ctx, workload.project, workload.slug, data.job_id);
  if (job === undefined) return undefined;
  return toWireJob(job.record, await jobResult(job.record, deps.blobs, deps.ctx.now()));
}

/**
 * Whether a job belongs to the workload's current life: a slug deleted and re-created never shows
 * (nor lets anyone cancel) the former life's jobs, whose keys were revoked with it.
 */
function sameLife(job: JobRecord, incarnation: string | undefined): boolean {
  return incarnation === undefined || job.incarnation === incarnation;
}

function notFound(id: string, project: string, workload: string): JobApiError {
  return new JobApiError(404, "job_not_found", `No job ${id.slice(0, 80)} in ${project}/${workload} (jobs are kept until their expires_at).`);
}

/** The job of this workload with its result, or 404 `job_not_found` (also once it expired). */
export async function getJob(
  deps: Pick<JobsServiceDeps, "ctx" | "blobs">,
  project: string,
  workload: string,
  id: string,
  incarnation?: string,
): Promise<{ job: WireJob; record: JobRecord }> {
  const stored = await readJob(deps.ctx, project, workload, id);
  if (stored === undefined || !sameLife(stored.record, incarnation)) throw notFound(id, project, workload);
  return { job: toWireJob(stored.record, await jobResult(stored.record, deps.blobs, deps.ctx.now())), record: stored.record };
}

export interface ListJobsQuery {
  status?: string;
  limit?: number;
  cursor?: string;
}

/** Newest first; `status` filters; `next_cursor` is signed (bound to this workload and filter). */
export async function listJobs(
  deps: Pick<JobsServiceDeps, "ctx" | "blobs">,
  project: string,
  workload: string,
  query: ListJobsQuery,
  incarnation?: string,
): Promise<{ object: "list"; data: WireJob[]; next_cursor: string | null }> {
  const { ctx } = deps;
  let status: JobStatus | undefined;
  if (query.status !== undefined) {
    if (!(JOB_STATUSES as readonly string[]).includes(query.status)) {
      throw new ValidationError("status is not a job status.", [
        { path: "status", message: "unknown status", received: query.status.slice(0, 64), expected: `one of ${JOB_STATUSES.join(", ")}` },
      ]);
    }
    status = query.status as JobStatus;
  }
  const limit = query.limit ?? 20;
  if (!Number.isInteger(limit) || limit < 1 || limit > 100) {
    throw new ValidationError("limit is invalid.", [{ path: "limit", message: "out of range", received: query.limit, expected: "an integer from 1 to 100" }]);
  }
  const scope = `jobs:${project}/${workload}:${status ?? "*"}`;
  const cursor = query.cursor === undefined ? undefined : openCursor(ctx.serverSecret, scope, query.cursor);
  const page = await ctx.store.query({
    pk: status === undefined ? jobKeys.workloadJobs(project, workload) : jobKeys.byStatus(project, workload, status),
    ...(status === undefined ? {} : { index: "gsi1" as const }),
    descending: true,
    limit,
    ...(cursor === undefined ? {} : { cursor }),
  });
  const data: WireJob[] = [];
  for (const item of page.items) {
    const stored = storedJob(ctx, item);
    if (stored === undefined || !sameLife(stored.record, incarnation) || (status !== undefined && stored.record.status !== status)) continue;
    data.push(toWireJob(stored.record, await jobResult(stored.record, deps.blobs, ctx.now())));
  }
  return { object: "list", data, next_cursor: page.cursor === undefined ? null : signCursor(ctx.serverSecret, scope, page.cursor) };
}

/** Cancels a queued or waiting job; 409 `job_not_cancellable` once it runs or finished. */
export async function cancelJob(deps: JobsServiceDeps, project: string, workload: string, id: string, incarnation?: string): Promise<WireJob> {
  const stored = await readJob(deps.ctx, project, workload, id);
  if (stored === undefined || !sameLife(stored.record, incarnation)) throw notFound(id, project, workload);
  const done = await finish(
    { ctx: deps.ctx, ...(deps.onJobChange === undefined ? {} : { onJobChange: deps.onJobChange }), ...(deps.log === undefined ? {} : { log: deps.log }) },
    stored.record,
    "cancelled",
    { error: null },
    ["queued", "waiting"],
  );
  if (done === undefined) {
    const current = await readJob(deps.ctx, project, workload, id);
    if (current === undefined) throw notFound(id, project, workload);
    if (current.record.status === "cancelled") return toWireJob(current.record);
    throw new JobApiError(409, "job_not_cancellable", `Job ${id} is ${current.record.status}; only queued or waiting jobs can be cancelled.`);
  }
  return toWireJob(done);
}

/**
 * The controller's job upkeep for one workload:
 * - queued jobs whose send failed (`unsent`), or not started `staleAfterSeconds` after they were
 *   (re-)sent (the process died between the write and the send) - re-send;
 * - waiting jobs when a replica is ready: back to queued and re-sent;
 * - queued or waiting jobs past their `max_queue_seconds`: expired;
 * - running jobs whose lease ran out (their consumer died and the message is gone): re-sent, or
 *   failed once taken `maxAttempts` times.
 * Returns how many were re-sent and expired.
 */
export async function maintainWorkloadJobs(
  deps: JobsServiceDeps & { events?: import("../events/lifecycle").EventPublisher },
  project: string,
  workload: string,
  options: { replicaReady: boolean; staleAfterSeconds: number; maxAttempts: number; limit?: number },
): Promise<{ requeued: number; expired: number }> {
  const { ctx } = deps;
  const now = ctx.now();
  const nowMs = now.getTime();
  let requeued = 0;
  let expired = 0;
  // Running jobs whose consumer vanished (its lease ran out and no redelivery took them over).
  for (const job of await jobsInStatus(ctx, project, workload, "running", options.limit ?? 1000)) {
    if (job.lease_until === undefined || Date.parse(job.lease_until) > nowMs) continue;
    if (job.attempts >= options.maxAttempts) {
      await finish(deps, job, "failed", {
        error: { code: "max_attempts_exceeded", message: `The job was taken ${job.attempts} times and never finished (its consumer stopped each time).` },
      }, ["running"]);
      continue;
    }
    const moved = await updateJob(ctx, project, workload, job.id, (current) =>
      current.status === "running" && current.lease_until === job.lease_until
        ? withStatus(current, "queued", now.toISOString(), { lease_until: undefined, enqueued_at: now.toISOString() })
        : undefined,
    );
    if (moved?.changed && (await enqueue(deps, moved.record))) requeued++;
  }
  for (const status of ["queued", "waiting"] as const) {
    const jobs = await jobsInStatus(ctx, project, workload, status, options.limit ?? 1000);
    for (const job of jobs) {
      if (Date.parse(job.created_at) + job.max_queue_seconds * 1000 <= nowMs) {
        const done = await finish(deps, job, "expired", {
          error: { code: "max_queue_seconds_exceeded", message: `The job did not start within max_queue_seconds (${job.max_queue_seconds} s).` },
        }, [status]);
        if (done !== undefined) expired++;
        continue;
      }
      const due =
        status === "waiting"
          ? options.replicaReady
          : job.unsent === true || Date.parse(job.enqueued_at) + options.staleAfterSeconds * 1000 <= nowMs;
      if (!due) continue;
      const moved = await updateJob(ctx, project, workload, job.id, (current) => {
        if (current.status !== status || current.enqueued_at !== job.enqueued_at) return undefined;
        const nowIso = now.toISOString();
        return current.status === "waiting"
          ? withStatus(current, "queued", nowIso, { enqueued_at: nowIso })
          : { ...current, enqueued_at: nowIso };
      });
      if (moved?.changed && (await enqueue(deps, moved.record))) requeued++;
    }
  }
  return { requeued, expired };
}

export { RESERVED_FIELDS };
export type { JobInput };
