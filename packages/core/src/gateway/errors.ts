/**
 * Data-plane errors in OpenAI's shape, `{"error": {"message", "type", "param", "code"}}`, so the
 * openai clients raise their usual exceptions. Every failure has its own `code` (docs/gateway.md).
 */
import type { GatewayReply } from "./exchange";

export type GatewayErrorCode =
  | "not_found"
  | "missing_api_key"
  | "malformed_api_key"
  | "wrong_key_kind"
  | "invalid_api_key"
  | "key_wrong_workload"
  | "key_revoked"
  | "key_expired"
  | "workload_not_found"
  | "route_not_served"
  | "async_only_modality"
  | "method_not_allowed"
  | "invalid_request_body"
  | "invalid_scale_up_timeout"
  | "payload_too_large"
  | "rate_limit_exceeded"
  | "workload_scaling_up"
  | "workload_outside_window"
  | "workload_stopped"
  | "upstream_unreachable"
  | "upstream_timeout"
  | "upstream_bad_response"
  | "store_unavailable"
  | "file_not_found"
  | "file_url_expired"
  | "file_url_invalid"
  | "client_closed_request"
  | "internal_error";

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
  if (error.options.retryAfterSeconds !== undefined) {
    headers["retry-after"] = String(Math.max(1, Math.ceil(error.options.retryAfterSeconds)));
  }
  const body = {
    error: { message: error.message, type: typeOf(error.status), param: null, code: error.code, ...error.options.fields },
  };
  return { status: error.status, headers, body: Buffer.from(JSON.stringify(body)) };
}
