/**
 * Data-plane errors in OpenAI's shape, `{"error": {"message", "type", "param", "code"}}`, so the
 * openai clients raise their usual exceptions. Every failure has its own `code` (docs/gateway.md).
 */
import type { GatewayReply } from "./exchange";
import type { WorkloadFailure } from "./route-table";

/**
 * Every data-plane error code with its HTTP status: the list docs/gateway.md and the wire vectors
 * (`test/vectors/errors.json`) are held to.
 */
export const GATEWAY_ERROR_STATUS = {
  not_found: 404,
  missing_api_key: 401,
  malformed_api_key: 401,
  wrong_key_kind: 401,
  invalid_api_key: 401,
  key_wrong_workload: 401,
  key_revoked: 401,
  key_expired: 401,
  workload_not_found: 404,
  route_not_served: 404,
  async_only_modality: 404,
  method_not_allowed: 405,
  invalid_request_body: 400,
  invalid_scale_up_timeout: 400,
  payload_too_large: 413,
  rate_limit_exceeded: 429,
  concurrency_limit_exceeded: 429,
  workload_scaling_up: 503,
  workload_outside_window: 503,
  workload_stopped: 503,
  workload_failed: 503,
  upstream_unreachable: 502,
  upstream_timeout: 504,
  upstream_bad_response: 502,
  store_unavailable: 503,
  file_not_found: 404,
  file_url_expired: 403,
  file_url_invalid: 403,
  client_closed_request: 499,
  internal_error: 500,
  validation_failed: 400,
  job_not_found: 404,
  idempotency_key_reused: 409,
  job_not_cancellable: 409,
} as const;

export type GatewayErrorCode = keyof typeof GATEWAY_ERROR_STATUS;

function typeOf(status: number): string {
  if (status === 401) return "authentication_error";
  if (status === 403) return "permission_error";
  if (status === 429) return "rate_limit_error";
  if (status === 503) return "service_unavailable";
  if (status === 502 || status === 504) return "upstream_error";
  if (status >= 500) return "server_error";
  return "invalid_request_error";
}

export interface GatewayErrorOptions {
  /** Extra fields inside the error object (e.g. `next_opening_at`). */
  fields?: Record<string, unknown>;
  retryAfterSeconds?: number;
  headers?: Record<string, string>;
}

export class GatewayError extends Error {
  constructor(
    readonly status: number,
    readonly code: GatewayErrorCode,
    message: string,
    readonly options: GatewayErrorOptions = {},
  ) {
    super(message);
    this.name = "GatewayError";
  }
}

/** The error as the gateway's reply: OpenAI's error body, `Retry-After` when there is a wait. */
export function gatewayErrorReply(error: GatewayError, requestId: string): GatewayReply {
  const headers: Record<string, string> = {
    "content-type": "application/json",
    "x-request-id": requestId,
    ...error.options.headers,
  };
  // The client may still be uploading the rest of the body, which nobody will read: closing the
  // connection ends its upload at once instead of leaving it blocked until its own timeout.
  if (error.status === 413) headers.connection = "close";
  const wait = error.options.retryAfterSeconds;
  if (wait !== undefined) {
    // Retry-After takes whole seconds; retry-after-ms (read by the official openai clients and both
    // SDKs) keeps a sub-second wait, such as a replica expected within half a second.
    headers["retry-after"] = String(Math.max(1, Math.ceil(wait)));
    headers["retry-after-ms"] = String(Math.max(1, Math.round(wait * 1000)));
  }
  const body = {
    error: { message: error.message, type: typeOf(error.status), param: null, code: error.code, ...error.options.fields },
  };
  return { status: error.status, headers, body: Buffer.from(JSON.stringify(body)) };
}

/**
 * Every replica failed and none is starting: retrying the request cannot help until the controller
 * retries the replica, so clients are told not to (`x-should-retry: false`, which the openai clients
 * obey) and given the reason and the time of that retry instead.
 */
export function workloadFailedError(project: string, workload: string, failure: WorkloadFailure): GatewayError {
  const when = failure.nextRetryAt === null ? "The platform will retry it" : `The platform retries it at ${failure.nextRetryAt}`;
  return new GatewayError(
    503,
    "workload_failed",
    `Workload ${project}/${workload} cannot serve: its replica failed (${failure.reason}). ${when}; fix the cause ` +
      `(the workload's status and events say more: GET /v1/projects/${project}/workloads/${workload}) or ensure() a changed spec.`,
    { fields: { reason: failure.reason, next_retry_at: failure.nextRetryAt }, headers: { "x-should-retry": "false" } },
  );
}
