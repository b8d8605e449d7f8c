import type { ErrorCode as ServerErrorCode, ErrorDetail as WireErrorDetail } from "@inferencekey/core";
import type { Job } from "./data/jobs";

/**
 * One problem with an input, with the same fields as the wire's `error.details[]`. `path` names the
 * field as you wrote it: for `ensure()`, top-level keys in camelCase (`executionPolicyConfig.min_workers`,
 * the keys inside `executionPolicyConfig` as written); elsewhere the wire's snake_case path.
 *
 * @example
 * ```ts
 * catch (error) {
 *   if (error instanceof ValidationError) for (const d of error.details) console.log(d.path, d.message, d.suggestion);
 * }
 * ```
 */
export type ErrorDetail = WireErrorDetail;

/**
 * Codes the SDK itself raises, next to the server's: the request never got an HTTP answer
 * (`connection_error`, `timeout`), the answer was not what the API sends (`invalid_response`,
 * `http_error`), or the client was built wrong (`invalid_configuration`).
 *
 * @example
 * ```ts
 * if (error instanceof InferenceKeyError && error.code === "timeout") console.error("the API did not answer in time");
 * ```
 */
export type ClientErrorCode =
  | "connection_error"
  | "timeout"
  | "invalid_response"
  | "http_error"
  | "invalid_configuration";

/**
 * `error.code`: a server code (`validation_failed`, `drift_detected`, ...) or a client one. Open
 * to any string so a code added on the server does not break older SDKs.
 *
 * @example
 * ```ts
 * if (error instanceof InferenceKeyError && error.code === "drift_detected") { ... }
 * ```
 */
export type ErrorCode = ServerErrorCode | ClientErrorCode | (string & {});

/**
 * Fields of an {@link InferenceKeyError}; useful to build one in tests of code that handles SDK errors.
 *
 * @example
 * ```ts
 * const init: InferenceKeyErrorInit = { code: "not_found", message: "workload not found", status: 404, requestId: "req_1" };
 * const fake = new NotFoundError(init);
 * ```
 */
export interface InferenceKeyErrorInit {
  code: ErrorCode;
  message: string;
  /** HTTP status; undefined when no response arrived. */
  status?: number | undefined;
  /** The response's `x-request-id` (or the body's `request_id`): quote it when reporting a problem. */
  requestId?: string | undefined;
  details?: ErrorDetail[] | undefined;
  /** From the `Retry-After` header, in seconds. */
  retryAfterSeconds?: number | undefined;
  /**
   * The data plane's OpenAI-style `error.type` (`invalid_request_error`, `authentication_error`,
   * `service_unavailable`, ...); undefined for control-API errors, which carry only a `code`.
   */
  errorType?: string | undefined;
  cause?: unknown;
}

/**
 * The base of every error the SDK throws. Mirrors the control API's
 * `{"error": {code, message, request_id, details}}` plus the HTTP `status`. Data-plane errors
 * (OpenAI's `{"error": {message, type, code}}`) map onto the same fields, with `type` in `errorType`.
 *
 * @example
 * ```ts
 * import { InferenceKeyError } from "@inferencekey/sdk";
 * try {
 *   await mgmt.get("missing");
 * } catch (error) {
 *   if (error instanceof InferenceKeyError) console.error(error.status, error.code, error.message, error.requestId);
 * }
 * ```
 */
export class InferenceKeyError extends Error {
  override readonly name: string = "InferenceKeyError";
  readonly code: ErrorCode;
  readonly status: number | undefined;
  readonly requestId: string | undefined;
  readonly details: ErrorDetail[];
  readonly retryAfterSeconds: number | undefined;
  readonly errorType: string | undefined;

  constructor(init: InferenceKeyErrorInit) {
    super(init.message, init.cause === undefined ? undefined : { cause: init.cause });
    this.code = init.code;
    this.status = init.status;
    this.requestId = init.requestId;
    this.details = init.details ?? [];
    this.retryAfterSeconds = init.retryAfterSeconds;
    this.errorType = init.errorType;
  }
}

/**
 * The client was built with missing or invalid options (no token, a malformed base URL).
 * Thrown by constructors, before any request.
 *
 * @example
 * ```ts
 * try {
 *   ManagementClient.fromEnv({ project: "acme" });
 * } catch (error) {
 *   if (error instanceof ConfigurationError) console.error(error.message); // names INFERENCEKEY_SDK_TOKEN
 * }
 * ```
 */
export class ConfigurationError extends InferenceKeyError {
  override readonly name: string = "ConfigurationError";
  constructor(message: string) {
    super({ code: "invalid_configuration", message });
  }
}

/**
 * HTTP 400: the request was malformed.
 *
 * @example
 * ```ts
 * if (error instanceof BadRequestError) console.error(error.details);
 * ```
 */
export class BadRequestError extends InferenceKeyError {
  override readonly name: string = "BadRequestError";
}

/**
 * HTTP 400 with code `validation_failed`: every problem is in `details`, each with the wire
 * `path`, the value `received`, what is `expected` and, for near misses, a `suggestion`.
 *
 * @example
 * ```ts
 * try {
 *   await mgmt.ensure(spec);
 * } catch (error) {
 *   if (error instanceof ValidationError) {
 *     for (const d of error.details) console.error(`${d.path}: ${d.message}`, d.suggestion ?? "");
 *   }
 * }
 * ```
 */
export class ValidationError extends BadRequestError {
  override readonly name: string = "ValidationError";
}

/**
 * HTTP 401: the token is missing, malformed, unknown or revoked.
 *
 * @example
 * ```ts
 * if (error instanceof AuthenticationError) console.error("check INFERENCEKEY_SDK_TOKEN");
 * ```
 */
export class AuthenticationError extends InferenceKeyError {
  override readonly name: string = "AuthenticationError";
}

/**
 * HTTP 403: the token is valid but may not do this.
 *
 * @example
 * ```ts
 * if (error instanceof PermissionDeniedError) console.error(error.message);
 * ```
 */
export class PermissionDeniedError extends InferenceKeyError {
  override readonly name: string = "PermissionDeniedError";
}

/**
 * HTTP 404: no such project, workload, key or worker (or the token may not see it).
 *
 * @example
 * ```ts
 * const existing = await mgmt.get("support-bot").catch((error) => {
 *   if (error instanceof NotFoundError) return undefined;
 *   throw error;
 * });
 * ```
 */
export class NotFoundError extends InferenceKeyError {
  override readonly name: string = "NotFoundError";
}

/**
 * HTTP 409: the request conflicts with the current state.
 *
 * @example
 * ```ts
 * if (error instanceof ConflictError) console.error(error.code, error.message);
 * ```
 */
export class ConflictError extends InferenceKeyError {
  override readonly name: string = "ConflictError";
}

/**
 * HTTP 409 with code `drift_detected`: `ensure(spec, { onDrift: OnDrift.Fail })` found a stored
 * spec that differs; `details` lists each differing field (`received` is what you asked for,
 * `expected` what is stored). Nothing was changed.
 *
 * @example
 * ```ts
 * try {
 *   await mgmt.ensure(spec, { onDrift: OnDrift.Fail });
 * } catch (error) {
 *   if (error instanceof DriftError) console.error(error.details.map((d) => d.path).join(", "));
 * }
 * ```
 */
export class DriftError extends ConflictError {
  override readonly name: string = "DriftError";
}

/**
 * HTTP 404 with code `job_not_found`: no job with that id in this workload (never created, or
 * dropped after its retention period: results are kept 7 days by default).
 *
 * @example
 * ```ts
 * const job = await ep.getJob("job_123").catch((error) => {
 *   if (error instanceof JobNotFoundError) return undefined;
 *   throw error;
 * });
 * ```
 */
export class JobNotFoundError extends NotFoundError {
  override readonly name: string = "JobNotFoundError";
}

/**
 * HTTP 409 with code `idempotency_key_reused`: a job was already submitted with this
 * `Idempotency-Key` and a different body. Resubmitting the same body with the same key answers the
 * existing job instead; use a new key for a new job.
 *
 * @example
 * ```ts
 * try {
 *   await ep.submitJob({ input: { input: "great product" }, idempotencyKey: "order-42" });
 * } catch (error) {
 *   if (error instanceof IdempotencyKeyReusedError) console.error("order-42 already names another job");
 * }
 * ```
 */
export class IdempotencyKeyReusedError extends ConflictError {
  override readonly name: string = "IdempotencyKeyReusedError";
}

/**
 * HTTP 409 with code `job_not_cancellable`: the job is running or finished; only `queued` and
 * `waiting` jobs can be cancelled.
 *
 * @example
 * ```ts
 * try {
 *   await ep.cancelJob(job.id);
 * } catch (error) {
 *   if (error instanceof JobNotCancellableError) console.log("too late: it already started");
 * }
 * ```
 */
export class JobNotCancellableError extends ConflictError {
  override readonly name: string = "JobNotCancellableError";
}

/**
 * HTTP 413 `payload_too_large`: the request body is over the route's limit (a job's input over
 * 1 MiB, a chat body over the gateway's limit). Not retried: the same body would be refused again.
 *
 * @example
 * ```ts
 * try {
 *   await ep.classify({ input: hugeTexts });
 * } catch (error) {
 *   if (error instanceof PayloadTooLargeError) console.error("split the input into smaller jobs");
 * }
 * ```
 */
export class PayloadTooLargeError extends InferenceKeyError {
  override readonly name: string = "PayloadTooLargeError";
}

/**
 * HTTP 429: too many requests. Retried automatically (honouring `Retry-After`) for idempotent
 * calls; thrown once retries are exhausted. `retryAfterSeconds` says how long the server asked to wait.
 *
 * @example
 * ```ts
 * if (error instanceof RateLimitError) console.error(`retry in ${error.retryAfterSeconds ?? "?"} s`);
 * ```
 */
export class RateLimitError extends InferenceKeyError {
  override readonly name: string = "RateLimitError";
}

/**
 * HTTP 5xx: the server failed or is unavailable. Retried automatically for idempotent calls. On
 * the data plane, `code` says why (`workload_stopped`, `upstream_timeout`, ...); the conditions a
 * caller acts on have their own subclass: {@link WorkloadScalingUpError},
 * {@link WorkloadOutsideWindowError}, {@link WorkloadFailedError}.
 *
 * @example
 * ```ts
 * if (error instanceof InternalServerError) console.error(`report request ${error.requestId}`);
 * ```
 */
export class InternalServerError extends InferenceKeyError {
  override readonly name: string = "InternalServerError";
}

/**
 * HTTP 503 `workload_scaling_up`: no replica of the workload is ready yet and one is starting. Nothing
 * was forwarded, so the SDK retries it (even a POST), honouring `Retry-After`; thrown once its
 * retries are spent. Send `X-Scale-Up-Timeout` (the `scaleUpTimeoutSeconds` option) to wait instead.
 *
 * @example
 * ```ts
 * try {
 *   await endpoint.generateText({ prompt: "Hi" });
 * } catch (error) {
 *   if (error instanceof WorkloadScalingUpError) console.error(`still starting; retry in ${error.retryAfterSeconds ?? "a few"} s`);
 * }
 * ```
 */
export class WorkloadScalingUpError extends InternalServerError {
  override readonly name: string = "WorkloadScalingUpError";
}

/**
 * HTTP 503 `workload_outside_window`: a scheduled workload called outside its window.
 * `nextOpeningAt` (ISO time) says when it opens again; undefined when the schedule never reopens.
 *
 * @example
 * ```ts
 * try {
 *   await endpoint.generateText({ prompt: "Hi" });
 * } catch (error) {
 *   if (error instanceof WorkloadOutsideWindowError) console.error(`closed; opens at ${error.nextOpeningAt}`);
 * }
 * ```
 */
export class WorkloadOutsideWindowError extends InternalServerError {
  override readonly name: string = "WorkloadOutsideWindowError";
  readonly nextOpeningAt: string | undefined;
  constructor(init: InferenceKeyErrorInit & { nextOpeningAt?: string | undefined }) {
    super(init);
    this.nextOpeningAt = init.nextOpeningAt;
  }
}

/**
 * HTTP 503 `workload_failed`: every replica of the workload failed and none is starting, so retrying
 * the call cannot help; it is not retried. `reason` is why the replica failed (e.g. "exited with code
 * 127 (command not found): sh: 1: vllm: not found"); `nextRetryAt` (ISO time) is when the platform
 * starts it again, undefined until it has scheduled that.
 *
 * @example
 * ```ts
 * try {
 *   await endpoint.generateText({ prompt: "Hi" });
 * } catch (error) {
 *   if (error instanceof WorkloadFailedError) console.error(`${error.reason}; next attempt at ${error.nextRetryAt}`);
 * }
 * ```
 */
export class WorkloadFailedError extends InternalServerError {
  override readonly name: string = "WorkloadFailedError";
  readonly reason: string | undefined;
  readonly nextRetryAt: string | undefined;
  constructor(init: InferenceKeyErrorInit & { reason?: string | undefined; nextRetryAt?: string | undefined }) {
    super(init);
    this.reason = init.reason;
    this.nextRetryAt = init.nextRetryAt;
  }
}

/**
 * No HTTP response arrived (DNS, refused connection, reset), or a streamed answer broke off.
 * `cause` holds the underlying error. `requestSent` is false only when the connection failed
 * before any byte of the request left (DNS failure, refused connection): then nothing can have
 * happened on the server, so even a POST is safe to send again.
 *
 * @example
 * ```ts
 * if (error instanceof APIConnectionError) console.error("network problem:", error.cause, error.requestSent);
 * ```
 */
export class APIConnectionError extends InferenceKeyError {
  override readonly name: string = "APIConnectionError";
  readonly requestSent: boolean;
  constructor(
    init: Omit<InferenceKeyErrorInit, "code" | "status"> & { code?: ErrorCode; requestSent?: boolean },
  ) {
    super({ ...init, code: init.code ?? "connection_error" });
    // Unknown counts as sent: only a provably unsent request may be replayed.
    this.requestSent = init.requestSent ?? true;
  }
}

/**
 * The request did not complete within `timeoutMs` (default 60 s).
 *
 * @example
 * ```ts
 * const mgmt = ManagementClient.fromEnv({ project: "acme", timeoutMs: 10_000 });
 * // ...
 * if (error instanceof APITimeoutError) console.error(error.message);
 * ```
 */
export class APITimeoutError extends APIConnectionError {
  override readonly name: string = "APITimeoutError";
  constructor(init: Omit<InferenceKeyErrorInit, "code" | "status"> & { requestSent?: boolean }) {
    super({ ...init, code: "timeout" });
  }
}

/** What the SDK knows about a failed HTTP exchange, before choosing the class. */
export interface HttpErrorInit extends InferenceKeyErrorInit {
  status: number;
  /** The body's error object, for the fields a subclass carries (`next_opening_at`, `reason`, `next_retry_at`). */
  fields?: Readonly<Record<string, unknown>> | undefined;
}

const text = (value: unknown): string | undefined => (typeof value === "string" && value !== "" ? value : undefined);

/**
 * The status-mapped error class for an HTTP error answer: the one place a status becomes a class.
 *
 * @example
 * ```ts
 * errorForStatus({ status: 404, code: "not_found", message: "workload not found" }) instanceof NotFoundError; // true
 * ```
 */
export function errorForStatus(init: HttpErrorInit): InferenceKeyError {
  const { status, code } = init;
  if (status === 400)
    return code === "validation_failed" ? new ValidationError(init) : new BadRequestError(init);
  if (status === 401) return new AuthenticationError(init);
  if (status === 403) return new PermissionDeniedError(init);
  if (status === 404) return code === "job_not_found" ? new JobNotFoundError(init) : new NotFoundError(init);
  if (status === 409) {
    if (code === "drift_detected") return new DriftError(init);
    if (code === "idempotency_key_reused") return new IdempotencyKeyReusedError(init);
    if (code === "job_not_cancellable") return new JobNotCancellableError(init);
    return new ConflictError(init);
  }
  if (status === 413) return new PayloadTooLargeError(init);
  if (status === 429) return new RateLimitError(init);
  if (status === 503 && code === "workload_scaling_up") return new WorkloadScalingUpError(init);
  if (status === 503 && code === "workload_outside_window") {
    return new WorkloadOutsideWindowError({ ...init, nextOpeningAt: text(init.fields?.next_opening_at) });
  }
  if (status === 503 && code === "workload_failed") {
    return new WorkloadFailedError({ ...init, reason: text(init.fields?.reason), nextRetryAt: text(init.fields?.next_retry_at) });
  }
  if (status >= 500) return new InternalServerError(init);
  return new InferenceKeyError(init);
}

/**
 * A job ended without a result: `failed` (`code` and `message` are the job's `error`), `cancelled`
 * or `expired` (it waited longer than its `max_queue_seconds` for a replica). Thrown by the helpers
 * that submit and wait (`classify`, `reward`, `jobs.rerank`); `waitForJob` returns such a job
 * instead. `job` is the job as last read.
 *
 * @example
 * ```ts
 * try {
 *   await ep.classify({ input: "great product" });
 * } catch (error) {
 *   if (error instanceof JobFailedError) console.error(error.job.status, error.code, error.message);
 * }
 * ```
 */
export class JobFailedError extends InferenceKeyError {
  override readonly name: string = "JobFailedError";
  /** The job as last read (its `status`, `error`, `history`). */
  readonly job: Job;
  constructor(init: InferenceKeyErrorInit & { job: Job }) {
    super(init);
    this.job = init.job;
  }
}

/**
 * A wait ran out of time before what it waited for happened: `waitForJob` (and the helpers that
 * submit and wait) before the job was terminal, or `waitUntilReady` before the workload was ready.
 * Nothing was cancelled: the job keeps running and the workload keeps starting. `code` is
 * `wait_timeout`; `last` is the last job or readiness event seen (undefined if none arrived).
 *
 * @example
 * ```ts
 * try {
 *   await ep.waitForJob(job.id, { timeoutMs: 30_000 });
 * } catch (error) {
 *   if (error instanceof WaitTimeoutError) console.log("still", (error.last as { status?: string })?.status);
 * }
 * ```
 */
export class WaitTimeoutError extends InferenceKeyError {
  override readonly name: string = "WaitTimeoutError";
  /** The last job (or readiness event) seen before time ran out. */
  readonly last: unknown;
  constructor(init: Omit<InferenceKeyErrorInit, "code"> & { last?: unknown }) {
    super({ ...init, code: "wait_timeout" });
    this.last = init.last;
  }
}

/**
 * `waitUntilReady` read an `error` readiness event: the workload cannot become ready (its replica
 * failed to start, no capacity fits it, ...). `message` is the server's reason; `phase` is
 * `"error"`, `step` and `elapsedMs` are the event's. `code` is `workload_not_ready`.
 *
 * @example
 * ```ts
 * try {
 *   await mgmt.waitUntilReady("support-bot");
 * } catch (error) {
 *   if (error instanceof WorkloadNotReadyError) console.error(`not ready after ${error.elapsedMs} ms: ${error.message}`);
 * }
 * ```
 */
export class WorkloadNotReadyError extends InferenceKeyError {
  override readonly name: string = "WorkloadNotReadyError";
  readonly phase: string;
  readonly step: number | undefined;
  readonly elapsedMs: number | undefined;
  constructor(init: { message: string; phase: string; step?: number | undefined; elapsedMs?: number | undefined }) {
    super({ code: "workload_not_ready", message: init.message });
    this.phase = init.phase;
    this.step = init.step;
    this.elapsedMs = init.elapsedMs;
  }
}
