/**
 * The one error hierarchy of the platform. Every layer throws these; the HTTP surfaces map them to
 * responses in one place (`http/error-response.ts`), so a status code is decided exactly once.
 */

/** One problem with an input, in wire (snake_case) names. */
export interface ErrorDetail {
  /** Dotted path of the offending field in wire names, e.g. `execution_policy_config.min_workers`. */
  path: string;
  message: string;
  /** The value that was received (absent when the field was missing). */
  received?: unknown;
  /** What would be accepted, in words or as a list. */
  expected?: string;
  /** For near misses: the value or field the caller probably meant. */
  suggestion?: string;
}

export type ErrorCode =
  | "validation_failed"
  | "unauthorized"
  | "forbidden"
  | "not_found"
  | "conflict"
  | "drift_detected"
  | "rate_limited"
  | "payload_too_large"
  | "method_not_allowed"
  | "unavailable"
  | "internal";

export class InferenceKeyError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly details: ErrorDetail[];
  /** Seconds the caller should wait before retrying, when the error is transient. */
  readonly retryAfterSeconds: number | undefined;

  constructor(
    code: ErrorCode,
    status: number,
    message: string,
    options: { details?: ErrorDetail[]; retryAfterSeconds?: number; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.status = status;
    this.details = options.details ?? [];
    this.retryAfterSeconds = options.retryAfterSeconds;
  }
}

export class ValidationError extends InferenceKeyError {
  constructor(message: string, details: ErrorDetail[]) {
    super("validation_failed", 400, message, { details });
  }
}

export class UnauthorizedError extends InferenceKeyError {
  constructor(message = "A valid token is required: send `Authorization: Bearer ik_sdk_...`.") {
    super("unauthorized", 401, message);
  }
}

export class ForbiddenError extends InferenceKeyError {
  constructor(message: string) {
    super("forbidden", 403, message);
  }
}

export class NotFoundError extends InferenceKeyError {
  constructor(message: string) {
    super("not_found", 404, message);
  }
}

export class ConflictError extends InferenceKeyError {
  constructor(message: string, details: ErrorDetail[] = []) {
    super("conflict", 409, message, { details });
  }
}

/** ensure() with on_drift=fail found a stored spec that differs from the requested one. */
export class DriftError extends InferenceKeyError {
  constructor(message: string, details: ErrorDetail[]) {
    super("drift_detected", 409, message, { details });
  }
}

export class RateLimitedError extends InferenceKeyError {
  constructor(message: string, retryAfterSeconds: number) {
    super("rate_limited", 429, message, { retryAfterSeconds });
  }
}

export class MethodNotAllowedError extends InferenceKeyError {
  constructor(message: string) {
    super("method_not_allowed", 405, message);
  }
}

export class PayloadTooLargeError extends InferenceKeyError {
  constructor(message: string) {
    super("payload_too_large", 413, message);
  }
}

export class UnavailableError extends InferenceKeyError {
  constructor(message: string, retryAfterSeconds?: number) {
    super("unavailable", 503, message, retryAfterSeconds === undefined ? {} : { retryAfterSeconds });
  }
}

/**
 * A conditional write lost: the item changed (or appeared, or vanished) since it was read.
 * Internal to the domain: services retry or turn it into a ConflictError.
 */
export class ConditionFailedError extends Error {
  constructor(
    readonly pk: string,
    readonly sk: string,
  ) {
    super(`conditional write failed on ${pk} / ${sk}`);
    this.name = "ConditionFailedError";
  }
}
