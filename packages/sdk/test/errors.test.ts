import { describe, expect, it } from "vitest";
import {
  AuthenticationError,
  BadRequestError,
  ConflictError,
  DriftError,
  errorForStatus,
  InferenceKeyError,
  InternalServerError,
  NotFoundError,
  PermissionDeniedError,
  RateLimitError,
  ValidationError,
} from "../src/errors";

describe("errorForStatus", () => {
  it.each([
    [400, "validation_failed", ValidationError],
    [400, "bad_request", BadRequestError],
    [401, "unauthorized", AuthenticationError],
    [403, "forbidden", PermissionDeniedError],
    [404, "not_found", NotFoundError],
    [409, "conflict", ConflictError],
    [409, "drift_detected", DriftError],
    [429, "rate_limited", RateLimitError],
    [500, "internal", InternalServerError],
    [503, "unavailable", InternalServerError],
  ] as const)("maps %i %s to %o", (status, code, expected) => {
    // Prepare
    const init = {
      status,
      code,
      message: "m",
      requestId: "req_1",
      details: [{ path: "slug", message: "bad" }],
    };

    // Act
    const error = errorForStatus(init);

    // Assess
    expect(error).toBeInstanceOf(expected);
    expect(error).toBeInstanceOf(InferenceKeyError);
    expect(error.name).toBe(expected.name);
    expect(error).toMatchObject({
      status,
      code,
      message: "m",
      requestId: "req_1",
      details: [{ path: "slug", message: "bad" }],
    });
  });

  it("keeps the class hierarchy: ValidationError is a BadRequestError, DriftError a ConflictError", () => {
    // Prepare
    const validation = errorForStatus({ status: 400, code: "validation_failed", message: "m" });

    // Act
    const drift = errorForStatus({ status: 409, code: "drift_detected", message: "m" });

    // Assess
    expect(validation).toBeInstanceOf(BadRequestError);
    expect(drift).toBeInstanceOf(ConflictError);
  });

  it("falls back to the base class for statuses without a subclass", () => {
    // Prepare
    const init = { status: 422, code: "unprocessable", message: "cannot process" };

    // Act
    const error = errorForStatus(init);

    // Assess
    expect(error.constructor).toBe(InferenceKeyError);
    expect(error.name).toBe("InferenceKeyError");
    expect(error.details).toEqual([]);
  });

  it("maps the jobs API's codes to their subclasses", () => {
    // Prepare
    const cases = [
      [404, "job_not_found", "JobNotFoundError", "NotFoundError"],
      [409, "idempotency_key_reused", "IdempotencyKeyReusedError", "ConflictError"],
      [409, "job_not_cancellable", "JobNotCancellableError", "ConflictError"],
      [413, "payload_too_large", "PayloadTooLargeError", "InferenceKeyError"],
    ] as const;

    // Act
    const mapped = cases.map(([status, code]) => errorForStatus({ status, code, message: "m" }));

    // Assess
    expect(mapped.map((e) => e.name)).toEqual(cases.map((c) => c[2]));
    expect(mapped.map((e) => Object.getPrototypeOf(Object.getPrototypeOf(e)).constructor.name)).toEqual(cases.map((c) => c[3]));
  });
});
