import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import {
  ConfigurationError,
  DataClient,
  InferenceKeyError,
  type Endpoint,
  JobFailedError,
  JobNotCancellableError,
  ValidationError,
  WaitTimeoutError,
} from "../../src";
import { connectionReset, type FakeFetch, fakeFetch, jsonResponse } from "../helpers/fake-fetch";
import { BASE_URL } from "../helpers/fixtures";

const API_KEY = "ik_live_testkey000000000000000000000";

function endpoint(fetch: FakeFetch): Endpoint {
  return new DataClient({ project: "acme", baseUrl: BASE_URL, fetch }).endpoint("sentiment", { apiKey: API_KEY });
}

function job(status: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id: "job_1",
    object: "job",
    project: "acme",
    workload: "sentiment",
    task_type: "classification",
    status,
    created_at: "2025-07-01T12:00:00.000Z",
    started_at: null,
    finished_at: null,
    expires_at: "2025-07-08T12:00:00.000Z",
    history: [{ status: "queued", at: "2025-07-01T12:00:00.000Z" }],
    attempts: 0,
    max_queue_seconds: 3600,
    idempotency_key: null,
    result: null,
    error: null,
    webhook: null,
    ...extra,
  };
}

/** Answers after `ms` of (fake) time, like a server holding a long poll. */
function heldFor(ms: number, body: unknown) {
  return () => new Promise<Response>((resolve) => setTimeout(() => resolve(jsonResponse(200, body)), ms));
}

beforeEach(() => {
  vi.useFakeTimers();
});

afterEach(() => {
  vi.useRealTimers();
});

describe("submitJob", () => {
  it("sends a generated Idempotency-Key and the same one on a retry after a reset connection", async () => {
    // Prepare
    const fetch = fakeFetch(connectionReset(), jsonResponse(202, job("queued")));

    // Act
    const submitted = endpoint(fetch).submitJob({ input: { input: "great product" } });
    await vi.advanceTimersByTimeAsync(10_000);
    const result = await submitted;

    // Assess
    expect(result.status).toBe("queued");
    const keys = fetch.calls.map((c) => c.headers["idempotency-key"]);
    expect(keys).toHaveLength(2);
    expect(keys[0]).toMatch(/^[0-9a-f-]{36}$/);
    expect(keys[1]).toBe(keys[0]);
  });

  it("generates a different key for each call", async () => {
    // Prepare
    const fetch = fakeFetch(jsonResponse(202, job("queued")), jsonResponse(202, job("queued")));
    const ep = endpoint(fetch);

    // Act
    await ep.submitJob({ input: { input: "a" } });
    await ep.submitJob({ input: { input: "a" } });

    // Assess
    expect(fetch.calls[0]?.headers["idempotency-key"]).not.toBe(fetch.calls[1]?.headers["idempotency-key"]);
  });

  it("refuses an input that is not an object and a key the server would refuse, before any request", async () => {
    // Prepare
    const fetch = fakeFetch();
    const ep = endpoint(fetch);

    // Act
    const notObject = await ep.submitJob({ input: ["a"] as never }).catch((e: unknown) => e);
    const longKey = await ep.submitJob({ input: { input: "a" }, idempotencyKey: "k".repeat(256) }).catch((e: unknown) => e);
    const controlChar = await ep.submitJob({ input: { input: "a" }, idempotencyKey: "a\nb" }).catch((e: unknown) => e);

    // Assess
    expect(notObject).toBeInstanceOf(ValidationError);
    expect((notObject as ValidationError).details[0]?.path).toBe("input");
    expect(longKey).toBeInstanceOf(ValidationError);
    expect((longKey as ValidationError).details[0]?.path).toBe("idempotency_key");
    expect(controlChar).toBeInstanceOf(ValidationError);
    expect(fetch.calls).toHaveLength(0);
  });
});

describe("waitForJob", () => {
  it("long-polls with ?wait=20 and returns the terminal job without sleeping between held polls", async () => {
    // Prepare
    const fetch = fakeFetch(heldFor(20_000, job("running")), heldFor(3_000, job("succeeded", { result: { data: [] } })));

    // Act
    const waited = endpoint(fetch).waitForJob("job_1");
    await vi.advanceTimersByTimeAsync(23_000);
    const done = await waited;

    // Assess
    expect(done.status).toBe("succeeded");
    expect(fetch.calls.map((c) => new URL(c.url).searchParams.get("wait"))).toEqual(["20", "20"]);
    expect(fetch.calls.map((c) => c.method)).toEqual(["GET", "GET"]);
    expect(new URL(fetch.calls[0]?.url ?? "").pathname).toBe("/endpoint/acme/sentiment/v1/jobs/job_1");
  });

  it("backs off between polls that come back early (0.5 s, then 1 s)", async () => {
    // Prepare
    const fetch = fakeFetch(
      jsonResponse(200, job("queued")),
      jsonResponse(200, job("queued")),
      jsonResponse(200, job("failed", { error: { code: "upstream_bad_response", message: "boom" } })),
    );
    vi.spyOn(Math, "random").mockReturnValue(0);

    // Act
    const waited = endpoint(fetch).waitForJob("job_1");
    await vi.advanceTimersByTimeAsync(499);
    const afterFirst = fetch.calls.length;
    await vi.advanceTimersByTimeAsync(1);
    const afterBackoff = fetch.calls.length;
    await vi.advanceTimersByTimeAsync(999);
    const beforeSecond = fetch.calls.length;
    await vi.advanceTimersByTimeAsync(1);
    const done = await waited;

    // Assess
    expect([afterFirst, afterBackoff, beforeSecond, fetch.calls.length]).toEqual([1, 2, 2, 3]);
    expect(done.status).toBe("failed");
    expect(done.error).toEqual({ code: "upstream_bad_response", message: "boom" });
  });

  it("throws WaitTimeoutError with the last job when its timeout runs out, shortening the last poll", async () => {
    // Prepare
    const fetch = fakeFetch(heldFor(20_000, job("running")), heldFor(5_000, job("running")));

    // Act
    const waited = endpoint(fetch)
      .waitForJob("job_1", { timeoutMs: 25_000 })
      .catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(26_000);
    const error = await waited;

    // Assess
    expect(error).toBeInstanceOf(WaitTimeoutError);
    expect((error as WaitTimeoutError).code).toBe("wait_timeout");
    expect((error as WaitTimeoutError).last).toMatchObject({ id: "job_1", status: "running" });
    expect(fetch.calls.map((c) => new URL(c.url).searchParams.get("wait"))).toEqual(["20", "5"]);
  });

  it("returns an already terminal job without a request, and refuses a long poll over 20 s", async () => {
    // Prepare
    const fetch = fakeFetch(jsonResponse(200, job("cancelled")));
    const ep = endpoint(fetch);
    const cancelled = await ep.getJob("job_1");

    // Act
    const same = await ep.waitForJob(cancelled);
    const tooLong = await ep.waitForJob("job_1", { longPollSeconds: 30 }).catch((e: unknown) => e);

    // Assess
    expect(same).toBe(cancelled);
    expect(fetch.calls).toHaveLength(1);
    expect(tooLong).toBeInstanceOf(ConfigurationError);
  });
});

describe("classify / reward / jobs.rerank", () => {
  it("throws JobFailedError carrying the job when it fails", async () => {
    // Prepare
    const failed = job("failed", { error: { code: "upstream_bad_response", message: "CUDA out of memory" } });
    const fetch = fakeFetch(jsonResponse(202, job("queued")), jsonResponse(200, failed));

    // Act
    const error = await endpoint(fetch)
      .classify({ input: "great product" })
      .catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(JobFailedError);
    expect(error).toMatchObject({ code: "upstream_bad_response", message: "CUDA out of memory" });
    expect((error as JobFailedError).job.status).toBe("failed");
  });

  it("names an expired job's reason", async () => {
    // Prepare
    const fetch = fakeFetch(jsonResponse(202, job("expired")));

    // Act
    const error = await endpoint(fetch)
      .reward({ input: "x" })
      .catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(JobFailedError);
    expect((error as JobFailedError).code).toBe("job_expired");
    expect((error as JobFailedError).message).toMatch(/max_queue_seconds/);
  });

  it("validates each helper's input before any request", async () => {
    // Prepare
    const fetch = fakeFetch();
    const ep = endpoint(fetch);

    // Act
    const errors = await Promise.all([
      ep.classify({ input: 42 as never }).catch((e: unknown) => e),
      ep.reward({ messages: [] }).catch((e: unknown) => e),
      ep.jobs.rerank({ query: "q", documents: ["a", 3 as never] }).catch((e: unknown) => e),
      ep.jobs.rerank({ query: "q", documents: ["a"], topN: 0 }).catch((e: unknown) => e),
      ep.rerank({ query: undefined as never, documents: ["a"] }).catch((e: unknown) => e),
    ]);

    // Assess
    expect(errors.map((e) => (e as ValidationError).details[0]?.path)).toEqual(["input", "messages", "documents", "top_n", "query"]);
    expect(fetch.calls).toHaveLength(0);
  });
});

describe("reading answers", () => {
  it("refuses an answer that is not a job, naming what came", async () => {
    // Prepare
    const fetch = fakeFetch(jsonResponse(200, { object: "list", data: [] }), jsonResponse(200, { data: "nope" }));
    const ep = endpoint(fetch);

    // Act
    const notJob = await ep.getJob("job_1").catch((e: unknown) => e);
    const notList = await ep.listJobs().catch((e: unknown) => e);

    // Assess
    expect(notJob).toBeInstanceOf(InferenceKeyError);
    expect(notJob).toMatchObject({ code: "invalid_response" });
    expect((notJob as Error).message).toMatch(/job object/);
    expect(notList).toMatchObject({ code: "invalid_response" });
  });
});

describe("cancelJob / listJobs", () => {
  it("sends DELETE and maps job_not_cancellable", async () => {
    // Prepare
    const body = { error: { message: "running", type: "invalid_request_error", param: null, code: "job_not_cancellable" } };
    const fetch = fakeFetch(jsonResponse(200, job("cancelled")), jsonResponse(409, body));
    const ep = endpoint(fetch);

    // Act
    const cancelled = await ep.cancelJob("job_1");
    const refused = await ep.cancelJob("job_2").catch((e: unknown) => e);

    // Assess
    expect(cancelled.status).toBe("cancelled");
    expect(fetch.calls[0]?.method).toBe("DELETE");
    expect(refused).toBeInstanceOf(JobNotCancellableError);
  });

  it("returns one page with its cursor", async () => {
    // Prepare
    const fetch = fakeFetch(jsonResponse(200, { object: "list", data: [job("queued")], next_cursor: "c2" }));

    // Act
    const page = await endpoint(fetch).listJobs({ limit: 1, cursor: "c1" });

    // Assess
    expect(page.data.map((j) => j.id)).toEqual(["job_1"]);
    expect(page.nextCursor).toBe("c2");
    expect(Object.fromEntries(new URL(fetch.calls[0]?.url ?? "").searchParams)).toEqual({ limit: "1", cursor: "c1" });
  });
});
