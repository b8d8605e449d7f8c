import { APIConnectionError, type InferenceKeyError, WorkloadFailedError } from "../errors";

/** How long to wait between attempts. All durations in milliseconds. */
export interface RetryPolicy {
  /** Wait before the first retry; doubles for each further one. */
  initialDelayMs: number;
  /** Ceiling of the exponential backoff. */
  maxDelayMs: number;
  /** Ceiling of a server's `Retry-After`, so a bad header cannot stall a caller for hours. */
  maxRetryAfterMs: number;
  /** Fraction of each backoff removed at random (0..1), so clients do not retry in lockstep. */
  jitter: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  initialDelayMs: 500,
  maxDelayMs: 8_000,
  maxRetryAfterMs: 60_000,
  jitter: 0.25,
};

/** An abortable wait; injectable so tests can record waits instead of sleeping. */
export type Sleep = (ms: number, signal?: AbortSignal) => Promise<void>;

/**
 * `setTimeout` as a promise that rejects with the signal's reason when aborted.
 *
 * @example
 * ```ts
 * await defaultSleep(250);
 * ```
 */
export const defaultSleep: Sleep = (ms, signal) =>
  new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });

const IDEMPOTENT_METHODS: ReadonlySet<string> = new Set(["GET", "HEAD", "OPTIONS", "PUT", "DELETE"]);

/**
 * Whether a request may be sent again after any transient failure. POST and PATCH may only when
 * the caller gave an idempotency key, because a retried create could otherwise mint two keys or
 * two workers; without one they are resent only when {@link refusedBeforeProcessing}.
 *
 * @example
 * ```ts
 * mayRetry("PUT"); // true
 * mayRetry("POST"); // false
 * mayRetry("POST", "create-billing-key-1"); // true
 * ```
 */
export function mayRetry(method: string, idempotencyKey?: string): boolean {
  return (
    IDEMPOTENT_METHODS.has(method.toUpperCase()) || (idempotencyKey !== undefined && idempotencyKey !== "")
  );
}

/**
 * Transient failures: no response, a timeout, 408, 429 or any 5xx but `workload_failed` (every
 * replica failed: the gateway says `x-should-retry: false`).
 *
 * @example
 * ```ts
 * isTransient(new RateLimitError({ code: "rate_limited", message: "slow down", status: 429 })); // true
 * ```
 */
export function isTransient(error: InferenceKeyError): boolean {
  if (error instanceof APIConnectionError) return true;
  // Every replica failed: another attempt cannot succeed before the platform retries the replica.
  if (error instanceof WorkloadFailedError) return false;
  const status = error.status;
  return status !== undefined && (status === 408 || status === 429 || status >= 500);
}

/** Data-plane codes with which the gateway refuses a request before forwarding it anywhere. */
const REFUSED_CODES: ReadonlySet<string> = new Set(["workload_scaling_up"]);

/**
 * Whether the server provably did nothing with the request, so even a POST without an
 * idempotency key may be sent again: 429, the gateway's 503 `workload_scaling_up` (no replica was
 * ready, nothing was forwarded), or a connection that failed before the request was sent.
 *
 * @example
 * ```ts
 * refusedBeforeProcessing(new InternalServerError({ code: "workload_scaling_up", message: "starting", status: 503 })); // true
 * refusedBeforeProcessing(new InternalServerError({ code: "upstream_timeout", message: "slow", status: 504 })); // false
 * ```
 */
export function refusedBeforeProcessing(error: InferenceKeyError): boolean {
  if (error instanceof APIConnectionError) return !error.requestSent;
  return error.status === 429 || (error.status === 503 && REFUSED_CODES.has(error.code));
}

/**
 * Whether the gateway refused the call because the workload has no ready replica yet (503
 * `workload_scaling_up`): the SDK polls such answers for the call's scale-up budget, following
 * their `Retry-After`, without counting them against `maxRetries`.
 *
 * @example
 * ```ts
 * isScalingUp(new InternalServerError({ code: "workload_scaling_up", message: "starting", status: 503 })); // true
 * isScalingUp(new InternalServerError({ code: "unavailable", message: "busy", status: 503 })); // false
 * ```
 */
export function isScalingUp(error: InferenceKeyError): boolean {
  return error.status === 503 && error.code === "workload_scaling_up";
}

/**
 * A `retry-after-ms` header (milliseconds, decimals allowed, as the official openai clients read it).
 * Undefined when absent or not a non-negative number.
 *
 * @example
 * ```ts
 * parseRetryAfterMs("750"); // 750
 * parseRetryAfterMs("soon"); // undefined
 * ```
 */
export function parseRetryAfterMs(value: string | null | undefined): number | undefined {
  if (value === null || value === undefined) return undefined;
  const trimmed = value.trim();
  return /^\d+(\.\d+)?$/.test(trimmed) ? Number(trimmed) : undefined;
}

/**
 * A `Retry-After` header in milliseconds: delta-seconds (`"2"`, `"1.5"`) or an HTTP date.
 * Undefined when absent or unparseable; never negative.
 *
 * @example
 * ```ts
 * parseRetryAfter("3", Date.now()); // 3000
 * parseRetryAfter("Wed, 21 Oct 2015 07:28:00 GMT", Date.parse("Wed, 21 Oct 2015 07:27:58 GMT")); // 2000
 * ```
 */
export function parseRetryAfter(value: string | null | undefined, nowMs: number): number | undefined {
  if (value === null || value === undefined) return undefined;
  const trimmed = value.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Number(trimmed) * 1000;
  // An HTTP date always names its month; without this, Date.parse reads "-3" as the year -3.
  if (!/[A-Za-z]/.test(trimmed)) return undefined;
  const at = Date.parse(trimmed);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - nowMs);
}

/**
 * Exponential backoff for retry number `retry` (0 for the first retry), capped, with jitter.
 *
 * @example
 * ```ts
 * backoffDelay(0, DEFAULT_RETRY_POLICY, () => 0); // 500
 * backoffDelay(10, DEFAULT_RETRY_POLICY, () => 0); // 8000 (capped)
 * ```
 */
export function backoffDelay(retry: number, policy: RetryPolicy, random: () => number): number {
  const capped = Math.min(policy.maxDelayMs, policy.initialDelayMs * 2 ** retry);
  return Math.round(capped * (1 - policy.jitter * random()));
}

/**
 * The wait before retry number `retry`: the server's `Retry-After` on 429/503 (capped at
 * `maxRetryAfterMs`), otherwise {@link backoffDelay}.
 *
 * @example
 * ```ts
 * const error = new RateLimitError({ code: "rate_limited", message: "slow down", status: 429, retryAfterSeconds: 2 });
 * retryDelay(error, 0, DEFAULT_RETRY_POLICY, Math.random); // 2000
 * ```
 */
export function retryDelay(
  error: InferenceKeyError,
  retry: number,
  policy: RetryPolicy,
  random: () => number,
): number {
  const honoursRetryAfter = error.status === 429 || error.status === 503;
  if (honoursRetryAfter && error.retryAfterSeconds !== undefined) {
    return Math.min(policy.maxRetryAfterMs, Math.round(error.retryAfterSeconds * 1000));
  }
  return backoffDelay(retry, policy, random);
}
