import { describe, expect, it } from "vitest";
import {
  APIConnectionError,
  APITimeoutError,
  InferenceKeyError,
  InternalServerError,
  RateLimitError,
} from "../../src/errors";
import {
  backoffDelay,
  DEFAULT_RETRY_POLICY,
  defaultSleep,
  isTransient,
  mayRetry,
  isScalingUp,
  parseRetryAfter,
  parseRetryAfterMs,
  refusedBeforeProcessing,
  retryDelay,
} from "../../src/http/retry";

describe("mayRetry", () => {
  it("allows idempotent methods and POST only with an idempotency key", () => {
    // Prepare
    const methods = ["GET", "PUT", "DELETE", "HEAD", "POST", "PATCH"];

    // Act
    const without = methods.map((m) => mayRetry(m));
    const withKey = mayRetry("POST", "k-1");
    const withEmptyKey = mayRetry("POST", "");

    // Assess
    expect(without).toEqual([true, true, true, true, false, false]);
    expect(withKey).toBe(true);
    expect(withEmptyKey).toBe(false);
  });
});

describe("isTransient", () => {
  it("treats no-response, 408, 429 and 5xx as transient and other statuses as final", () => {
    // Prepare
    const at = (status: number) => new InferenceKeyError({ code: "x", message: "m", status });

    // Act
    const verdicts = [400, 401, 404, 408, 409, 429, 500, 502, 503].map((s) => isTransient(at(s)));

    // Assess
    expect(verdicts).toEqual([false, false, false, true, false, true, true, true, true]);
    expect(isTransient(new APIConnectionError({ message: "down" }))).toBe(true);
    expect(isTransient(new APITimeoutError({ message: "slow" }))).toBe(true);
  });
});

describe("parseRetryAfterMs", () => {
  it("reads milliseconds, decimals included, and nothing else", () => {
    // Act
    const values = ["750", "812.5", " 40 ", null, undefined, "", "soon", "-3", "1e3"].map((v) => parseRetryAfterMs(v));

    // Assess
    expect(values).toEqual([750, 812.5, 40, undefined, undefined, undefined, undefined, undefined, undefined]);
  });
});

describe("isScalingUp", () => {
  it("is the gateway's 503 workload_scaling_up only", () => {
    // Act
    const answers = [
      new InternalServerError({ code: "workload_scaling_up", message: "m", status: 503 }),
      new InternalServerError({ code: "unavailable", message: "m", status: 503 }),
      new InternalServerError({ code: "workload_scaling_up", message: "m", status: 500 }),
    ].map(isScalingUp);

    // Assess
    expect(answers).toEqual([true, false, false]);
  });
});

describe("parseRetryAfter", () => {
  it("reads delta-seconds, fractional seconds and HTTP dates", () => {
    // Prepare
    const now = Date.parse("Wed, 21 Oct 2015 07:28:00 GMT");

    // Act
    const seconds = parseRetryAfter("3", now);
    const fractional = parseRetryAfter("1.5", now);
    const date = parseRetryAfter("Wed, 21 Oct 2015 07:28:04 GMT", now);
    const past = parseRetryAfter("Wed, 21 Oct 2015 07:27:00 GMT", now);

    // Assess
    expect(seconds).toBe(3000);
    expect(fractional).toBe(1500);
    expect(date).toBe(4000);
    expect(past).toBe(0);
  });

  it("ignores absent and malformed values", () => {
    // Prepare
    const now = 0;

    // Act
    const values = [null, undefined, "", "soon", "-3"].map((v) => parseRetryAfter(v, now));

    // Assess
    expect(values).toEqual([undefined, undefined, undefined, undefined, undefined]);
  });
});

describe("backoffDelay / retryDelay", () => {
  it("doubles from 500 ms, caps at 8 s and removes up to 25% at random", () => {
    // Prepare
    const retries = [0, 1, 2, 3, 4, 5];

    // Act
    const noJitter = retries.map((r) => backoffDelay(r, DEFAULT_RETRY_POLICY, () => 0));
    const fullJitter = retries.map((r) => backoffDelay(r, DEFAULT_RETRY_POLICY, () => 1));

    // Assess
    expect(noJitter).toEqual([500, 1000, 2000, 4000, 8000, 8000]);
    expect(fullJitter).toEqual([375, 750, 1500, 3000, 6000, 6000]);
  });

  it("honours Retry-After on 429 and 503 only, capped at 60 s", () => {
    // Prepare
    const limited = new RateLimitError({
      code: "rate_limited",
      message: "m",
      status: 429,
      retryAfterSeconds: 2,
    });
    const unavailable = new InternalServerError({
      code: "unavailable",
      message: "m",
      status: 503,
      retryAfterSeconds: 7200,
    });
    const internal = new InternalServerError({
      code: "internal",
      message: "m",
      status: 500,
      retryAfterSeconds: 30,
    });

    // Act
    const waits = [limited, unavailable, internal].map((e) =>
      retryDelay(e, 0, DEFAULT_RETRY_POLICY, () => 0),
    );

    // Assess
    expect(waits).toEqual([2000, 60_000, 500]);
  });
});

describe("refusedBeforeProcessing", () => {
  it("holds for 429, 503 workload_scaling_up and unsent requests only", () => {
    // Prepare
    const cases = [
      new RateLimitError({ code: "rate_limit_exceeded", message: "m", status: 429 }),
      new InternalServerError({ code: "workload_scaling_up", message: "m", status: 503 }),
      new APIConnectionError({ message: "refused", requestSent: false }),
      new InternalServerError({ code: "unavailable", message: "m", status: 503 }),
      new InternalServerError({ code: "workload_scaling_up", message: "m", status: 500 }),
      new APIConnectionError({ message: "reset" }),
      new APITimeoutError({ message: "slow" }),
    ];

    // Act
    const refused = cases.map(refusedBeforeProcessing);

    // Assess
    expect(refused).toEqual([true, true, true, false, false, false, false]);
  });
});

describe("defaultSleep", () => {
  it("rejects with the signal's reason when aborted", async () => {
    // Prepare
    const controller = new AbortController();
    const reason = new Error("stop");

    // Act
    const sleeping = defaultSleep(60_000, controller.signal);
    controller.abort(reason);

    // Assess
    await expect(sleeping).rejects.toBe(reason);
  });
});
