import { ValidationError } from "../errors";
import { jsonNestsDeeperThan, MAX_JSON_DEPTH } from "../http/json-body";
import { cancelJob, getJob, JobApiError, type JobsServiceDeps, listJobs, submitJob } from "../jobs/service";
import type { JobQueue } from "../jobs/queue";
import { isJobTaskType, isTerminal, type JobRecord, MAX_JOB_INPUT_BYTES } from "../jobs/schema";
import type { PlatformContext } from "../platform/context";
import { type WorkloadRecord, workloadIncarnation } from "../workloads";
import type { BlobStore } from "./blob-store";
import { BodyTooLargeError, readLimited } from "./body";
import { GatewayError } from "./errors";
import type { GatewayReply, GatewayRequest } from "./exchange";
import { KeyedWaiters } from "./keyed-waiters";

/** The data plane's async jobs API (`/v1/jobs`), given to the gateway by the platform that runs a queue. */
export interface GatewayJobsOptions {
  queue: JobQueue;
  /** Where large job inputs and results are kept, when not the gateway's own blob store (AWS: a longer-lived S3 prefix). */
  blobs?: BlobStore;
  /** Webhook URLs may be http and name private addresses (`npm start` default; never in AWS). */
  allowPrivateWebhooks?: boolean;
  /** Wakes long polls when a job changes in this process (the local consumer tells it). */
  watcher?: JobWatcher;
  /** Long polls re-read the job this often when nothing wakes them (another process runs the jobs). Default 1000. */
  pollMs?: number;
}

/** Longest `?wait=` of a job read (seconds). */
export const MAX_JOB_WAIT_SECONDS = 20;
/** A job body: 1 MiB of input plus room for the reserved fields and JSON whitespace. */
const MAX_JOB_BODY_BYTES = MAX_JOB_INPUT_BYTES + 64 * 1024;

/** Wakes long polls of a job as soon as this process changes it. */
export class JobWatcher {
  private readonly waiters = new KeyedWaiters();

  notify(job: Pick<JobRecord, "id">): void {
    this.waiters.wake(job.id);
  }

  /** Resolves after `ms`, on abort, or when the job changes, whichever is first. */
  wait(jobId: string, ms: number, signal: AbortSignal): Promise<void> {
    return this.waiters.wait(jobId, ms, signal);
  }
}

function reply(status: number, body: unknown, requestId: string): GatewayReply {
  return { status, headers: { "content-type": "application/json", "x-request-id": requestId }, body: Buffer.from(JSON.stringify(body)) };
}

/** The jobs API's refusals in the data-plane error shape. */
function asGatewayError(error: unknown): unknown {
  if (error instanceof JobApiError) {
    return new GatewayError(error.status, error.code, error.message, error.code === "payload_too_large" ? { fields: { limit_bytes: MAX_JOB_INPUT_BYTES } } : {});
  }
  if (error instanceof ValidationError) {
    return new GatewayError(400, "validation_failed", error.message, { fields: { details: error.details } });
  }
  return error;
}

async function readJobBody(request: GatewayRequest): Promise<unknown> {
  let bytes: Uint8Array;
  if (request.body === null) bytes = new Uint8Array(0);
  else if (request.body instanceof Uint8Array) bytes = request.body;
  else {
    try {
      bytes = await readLimited(request.body, MAX_JOB_BODY_BYTES);
    } catch (error) {
      if (error instanceof BodyTooLargeError) throw tooLarge();
      throw new GatewayError(400, "invalid_request_body", "The request body could not be read.");
    }
  }
  if (bytes.byteLength > MAX_JOB_BODY_BYTES) throw tooLarge();
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("utf8");
  if (jsonNestsDeeperThan(text, MAX_JSON_DEPTH)) {
    throw new GatewayError(400, "invalid_request_body", `The JSON body nests deeper than ${MAX_JSON_DEPTH} levels.`);
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new GatewayError(400, "invalid_request_body", "The request body is not valid JSON: a job is a JSON object with the task's input.");
  }
}

function tooLarge(): GatewayError {
  return new GatewayError(413, "payload_too_large", `The job body exceeds the ${MAX_JOB_INPUT_BYTES}-byte (1 MiB) input limit.`, {
    fields: { limit_bytes: MAX_JOB_INPUT_BYTES },
    headers: { connection: "close" },
  });
}

function methodNotAllowed(method: string, allowed: string): GatewayError {
  return new GatewayError(405, "method_not_allowed", `${method} is not allowed here; allowed: ${allowed}.`, { headers: { allow: allowed } });
}

/** The `wait` query parameter: undefined, or 0 < N <= 20 seconds (400 otherwise). */
function waitSecondsOf(url: URL): number | undefined {
  const raw = url.searchParams.get("wait");
  if (raw === null) return undefined;
  const value = Number(raw);
  if (raw.length > 8 || !Number.isFinite(value) || value <= 0 || value > MAX_JOB_WAIT_SECONDS) {
    throw new GatewayError(400, "validation_failed", `wait must be a number of seconds, more than 0 and at most ${MAX_JOB_WAIT_SECONDS}.`, {
      fields: { details: [{ path: "wait", message: "out of range", received: raw.slice(0, 16), expected: `0 < wait <= ${MAX_JOB_WAIT_SECONDS}` }] },
    });
  }
  return value;
}

/**
 * Serves `/v1/jobs` and `/v1/jobs/{id}` for an authenticated, rate-limited request to a workload
 * (the gateway checked the key and the workload first). Returns the reply; throws GatewayErrors.
 */
export async function serveJobs(
  ctx: PlatformContext,
  options: GatewayJobsOptions,
  blobs: BlobStore | undefined,
  request: GatewayRequest,
  requestId: string,
  route: string,
  record: WorkloadRecord,
): Promise<GatewayReply> {
  const { project, slug } = record;
  const taskType = record.spec.task_type;
  if (!isJobTaskType(taskType)) {
    throw new GatewayError(
      404,
      "route_not_served",
      `Workload ${project}/${slug} has task_type ${taskType}, which answers synchronously: /v1/jobs runs only reranker, classification and reward workloads.`,
      { fields: { task_type: taskType } },
    );
  }
  const deps: JobsServiceDeps = {
    ctx,
    queue: options.queue,
    ...(blobs === undefined ? {} : { blobs }),
    allowPrivateWebhooks: options.allowPrivateWebhooks === true,
    ...(options.watcher === undefined ? {} : { onJobChange: (job: JobRecord) => options.watcher?.notify(job) }),
  };
  const url = new URL(request.url);
  const parts = route.split("/");
  const incarnation = workloadIncarnation(record);
  try {
    if (parts.length === 1) {
      if (request.method === "POST") {
        const key = request.header("idempotency-key");
        if (key !== null && !/^[\x20-\x7e]{1,255}$/.test(key)) {
          throw new GatewayError(400, "validation_failed", "The Idempotency-Key header must be 1-255 printable ASCII characters.", {
            fields: { details: [{ path: "Idempotency-Key", message: "not 1-255 printable characters" }] },
          });
        }
        const body = await readJobBody(request);
        const submitted = await submitJob(deps, { workload: record, body, ...(key === null ? {} : { idempotencyKey: key }) });
        return reply(submitted.created ? 202 : 200, submitted.job, requestId);
      }
      if (request.method === "GET") {
        const limitRaw = url.searchParams.get("limit");
        const limit = limitRaw === null ? undefined : Number(limitRaw);
        const status = url.searchParams.get("status");
        const cursor = url.searchParams.get("cursor");
        const page = await listJobs(
          deps,
          project,
          slug,
          { ...(status === null ? {} : { status }), ...(limit === undefined ? {} : { limit }), ...(cursor === null ? {} : { cursor }) },
          incarnation,
        );
        return reply(200, page, requestId);
      }
      throw methodNotAllowed(request.method, "GET, POST");
    }
    if (parts.length === 2) {
      const id = parts[1] ?? "";
      if (request.method === "GET") {
        const wait = waitSecondsOf(url);
        let { job } = await getJob(deps, project, slug, id, incarnation);
        if (wait !== undefined) {
          const deadline = performance.now() + wait * 1000;
          const pollMs = options.pollMs ?? 1000;
          while (!isTerminal(job.status) && !request.signal.aborted) {
            const left = deadline - performance.now();
            if (left <= 0) break;
            await (options.watcher ?? new JobWatcher()).wait(id, Math.min(left, pollMs), request.signal);
            job = (await getJob(deps, project, slug, id, incarnation)).job;
          }
        }
        return reply(200, job, requestId);
      }
      if (request.method === "DELETE") return reply(200, await cancelJob(deps, project, slug, id, incarnation), requestId);
      throw methodNotAllowed(request.method, "GET, DELETE");
    }
    throw new GatewayError(404, "route_not_served", `No such jobs route /v1/${route.slice(0, 100)}: use /v1/jobs or /v1/jobs/{id}.`);
  } catch (error) {
    throw asGatewayError(error);
  }
}
