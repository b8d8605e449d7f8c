import { afterEach, describe, expect, it, vi } from "vitest";
import {
  APIConnectionError,
  APITimeoutError,
  AuthenticationError,
  BadRequestError,
  DriftError,
  InferenceKeyError,
  InternalServerError,
  NotFoundError,
  RateLimitError,
  ValidationError,
} from "../../src/errors";
import { HttpClient, type HttpClientOptions } from "../../src/http/http-client";
import { SDK_VERSION } from "../../src/version";
import {
  connectionRefused,
  connectionReset,
  type FakeFetch,
  fakeFetch,
  jsonResponse,
  wireError,
} from "../helpers/fake-fetch";

/** A data-plane error answer in OpenAI's shape. */
function jsonError(status: number, error: Record<string, unknown>, headers: Record<string, string> = {}) {
  return jsonResponse(status, { error }, headers);
}
import { BASE_URL, TOKEN } from "../helpers/fixtures";

function client(fetch: FakeFetch, options: Partial<HttpClientOptions> = {}) {
  const waits: number[] = [];
  const http = new HttpClient({
    baseUrl: BASE_URL,
    token: TOKEN,
    fetch,
    sleep: async (ms) => {
      waits.push(ms);
    },
    random: () => 0,
    ...options,
  });
  return { http, waits };
}

const GET = { method: "GET", path: "/v1/projects/acme/workloads/bot" } as const;
const POST = { method: "POST", path: "/v1/projects/acme/workers", body: { name: "box" } } as const;

afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

describe("HttpClient requests", () => {
  it("sends bearer auth, the SDK User-Agent and JSON, and no x-request-id", async () => {
    // Prepare
    const fetch = fakeFetch(jsonResponse(201, { id: "wrk_1" }));
    const { http } = client(fetch);

    // Act
    const body = await http.json({ ...POST, query: { limit: 5, cursor: undefined } });

    // Assess
    const call = fetch.calls[0];
    expect(body).toEqual({ id: "wrk_1" });
    expect(call?.url).toBe(`${BASE_URL}/v1/projects/acme/workers?limit=5`);
    expect(call?.method).toBe("POST");
    expect(call?.headers).toMatchObject({
      authorization: `Bearer ${TOKEN}`,
      "user-agent": `inferencekey-sdk-ts/${SDK_VERSION}`,
      "content-type": "application/json",
      accept: "application/json",
    });
    expect(call?.headers).not.toHaveProperty("x-request-id");
    expect(call?.headers).not.toHaveProperty("idempotency-key");
    expect(call?.body).toEqual({ name: "box" });
  });

  it("omits content-type without a body and strips trailing slashes from the base URL", async () => {
    // Prepare
    const fetch = fakeFetch(jsonResponse(200, {}));
    const { http } = client(fetch, { baseUrl: `${BASE_URL}//` });

    // Act
    await http.json(GET);

    // Assess
    expect(fetch.calls[0]?.url).toBe(`${BASE_URL}/v1/projects/acme/workloads/bot`);
    expect(fetch.calls[0]?.headers).not.toHaveProperty("content-type");
  });

  it("uses a per-request token when given (the data plane's per-workload keys)", async () => {
    // Prepare
    const fetch = fakeFetch(jsonResponse(200, {}));
    const { http } = client(fetch);

    // Act
    await http.json({ ...GET, token: "ik_live_other" });

    // Assess
    expect(fetch.calls[0]?.headers.authorization).toBe("Bearer ik_live_other");
  });

  it("returns the raw response for streamed answers", async () => {
    // Prepare
    const fetch = fakeFetch(new Response("data: 1\n\n", { status: 200 }));
    const { http } = client(fetch);

    // Act
    const response = await http.response(GET);

    // Assess
    expect(await response.text()).toBe("data: 1\n\n");
  });
});

describe("HttpClient retries", () => {
  it("retries 429 after the Retry-After seconds", async () => {
    // Prepare
    const fetch = fakeFetch(
      wireError(429, "rate_limited", "slow down", { headers: { "retry-after": "2" } }),
      jsonResponse(200, { ok: true }),
    );
    const { http, waits } = client(fetch);

    // Act
    const body = await http.json(GET);

    // Assess
    expect(body).toEqual({ ok: true });
    expect(fetch.calls).toHaveLength(2);
    expect(waits).toEqual([2000]);
  });

  it("retries 503 after a Retry-After HTTP date", async () => {
    // Prepare
    const now = Date.parse("2025-01-01T00:00:00Z");
    const fetch = fakeFetch(
      wireError(503, "unavailable", "busy", { headers: { "retry-after": "Wed, 01 Jan 2025 00:00:05 GMT" } }),
      jsonResponse(200, { ok: true }),
    );
    const { http, waits } = client(fetch, { now: () => now });

    // Act
    await http.json(GET);

    // Assess
    expect(waits).toEqual([5000]);
  });

  it("caps a huge Retry-After at 60 s", async () => {
    // Prepare
    const fetch = fakeFetch(
      wireError(429, "rate_limited", "slow down", { headers: { "retry-after": "86400" } }),
      jsonResponse(200, {}),
    );
    const { http, waits } = client(fetch);

    // Act
    await http.json(GET);

    // Assess
    expect(waits).toEqual([60_000]);
  });

  it("backs off exponentially without Retry-After and gives up after maxRetries", async () => {
    // Prepare
    const fetch = fakeFetch(
      wireError(500, "internal", "boom", { requestId: "req_a" }),
      wireError(502, "internal", "boom", { requestId: "req_b" }),
      wireError(503, "unavailable", "boom", { requestId: "req_c" }),
    );
    const { http, waits } = client(fetch);

    // Act
    const failure = http.json(GET);

    // Assess
    await expect(failure).rejects.toBeInstanceOf(InternalServerError);
    await expect(failure).rejects.toMatchObject({ status: 503, requestId: "req_c" });
    expect(fetch.calls).toHaveLength(3);
    expect(waits).toEqual([500, 1000]);
  });

  it("honours a configured maxRetries and a per-call override", async () => {
    // Prepare
    const fetch = fakeFetch(...Array.from({ length: 6 }, () => wireError(503, "unavailable", "busy")));
    const { http, waits } = client(fetch, { maxRetries: 4 });

    // Act
    await expect(http.json(GET)).rejects.toBeInstanceOf(InternalServerError);
    await expect(http.json({ ...GET, maxRetries: 0 })).rejects.toBeInstanceOf(InternalServerError);

    // Assess
    expect(fetch.calls).toHaveLength(6);
    expect(waits).toEqual([500, 1000, 2000, 4000]);
  });

  it("retries connection errors and 408 for idempotent calls", async () => {
    // Prepare
    const fetch = fakeFetch(
      connectionRefused(),
      wireError(408, "timeout", "request timeout"),
      jsonResponse(200, { ok: 1 }),
    );
    const { http } = client(fetch);

    // Act
    const body = await http.json({ method: "DELETE", path: "/v1/projects/acme/workloads/bot" });

    // Assess
    expect(body).toEqual({ ok: 1 });
    expect(fetch.calls).toHaveLength(3);
  });

  it("surfaces APIConnectionError with its cause once retries run out", async () => {
    // Prepare
    const fetch = fakeFetch(connectionRefused(), connectionRefused(), connectionRefused());
    const { http } = client(fetch);

    // Act
    const failure = http.json(GET);

    // Assess
    await expect(failure).rejects.toBeInstanceOf(APIConnectionError);
    await expect(failure).rejects.toMatchObject({ code: "connection_error", status: undefined });
    await expect(failure).rejects.toThrow(/ECONNREFUSED/);
  });

  it("never retries a POST without an idempotency key once the server may have acted", async () => {
    // Prepare
    const fetch = fakeFetch(
      wireError(503, "unavailable", "busy"),
      wireError(500, "internal", "boom"),
      connectionReset(),
      "hang",
    );
    const { http, waits } = client(fetch, { maxRetries: 5 });

    // Act
    await expect(http.json(POST)).rejects.toBeInstanceOf(InternalServerError);
    await expect(http.json(POST)).rejects.toBeInstanceOf(InternalServerError);
    const reset = await http.json(POST).catch((e: unknown) => e);
    await expect(http.json({ ...POST, timeoutMs: 5 })).rejects.toBeInstanceOf(APITimeoutError);

    // Assess
    expect(reset).toBeInstanceOf(APIConnectionError);
    expect(reset).toMatchObject({ requestSent: true });
    expect(fetch.calls).toHaveLength(4);
    expect(waits).toEqual([]);
  });

  it("retries a POST without an idempotency key when refused before processing", async () => {
    // Prepare
    const fetch = fakeFetch(
      wireError(429, "rate_limited", "slow", { headers: { "retry-after": "2" } }),
      connectionRefused(),
      jsonError(
        503,
        { message: "starting", type: "service_unavailable", code: "workload_scaling_up" },
        { "retry-after": "5" },
      ),
      jsonResponse(201, { id: "wrk_1" }),
    );
    const { http, waits } = client(fetch, { maxRetries: 5 });

    // Act
    const body = await http.json(POST);

    // Assess
    expect(body).toEqual({ id: "wrk_1" });
    expect(fetch.calls).toHaveLength(4);
    expect(waits).toEqual([2_000, 1_000, 5_000]);
    expect(fetch.calls.every((c) => c.headers["idempotency-key"] === undefined)).toBe(true);
  });

  it("waits retry-after-ms rather than the whole-second Retry-After, as the openai clients do", async () => {
    // Prepare
    const fetch = fakeFetch(
      wireError(429, "rate_limited", "slow", { headers: { "retry-after": "1", "retry-after-ms": "250" } }),
      jsonResponse(201, { id: "wrk_1" }),
    );
    const { http, waits } = client(fetch);

    // Act
    await http.json(POST);

    // Assess
    expect(waits).toEqual([250]);
  });

  it("polls 503 workload_scaling_up within scaleUpBudgetMs without spending maxRetries", async () => {
    // Prepare: a clock that the waits move.
    let now = 0;
    const scaling = () =>
      jsonError(503, { message: "starting", type: "service_unavailable", code: "workload_scaling_up" }, { "retry-after-ms": "400" });
    const fetch = fakeFetch(scaling(), scaling(), scaling(), scaling());
    const waits: number[] = [];
    const http = new HttpClient({
      baseUrl: BASE_URL,
      fetch,
      maxRetries: 0,
      now: () => now,
      sleep: async (ms) => {
        waits.push(ms);
        now += ms;
      },
    });

    // Act
    const error = await http.json({ ...POST, scaleUpBudgetMs: 1_000 }).catch((e: unknown) => e);

    // Assess: polls at 400 and 800 ms; one at 1200 ms would be past the budget.
    expect(error).toMatchObject({ status: 503, code: "workload_scaling_up", retryAfterSeconds: 0.4 });
    expect(waits).toEqual([400, 400]);
    expect(fetch.calls).toHaveLength(3);
  });

  it("retries a POST that carries an idempotency key, sending the same key each time", async () => {
    // Prepare
    const fetch = fakeFetch(
      wireError(503, "unavailable", "busy"),
      connectionRefused(),
      jsonResponse(201, { id: "wrk_1" }),
    );
    const { http } = client(fetch);

    // Act
    const body = await http.json({ ...POST, idempotencyKey: "register-box-1" });

    // Assess
    expect(body).toEqual({ id: "wrk_1" });
    expect(fetch.calls.map((c) => c.headers["idempotency-key"])).toEqual([
      "register-box-1",
      "register-box-1",
      "register-box-1",
    ]);
  });

  it("does not retry final errors", async () => {
    // Prepare
    const fetch = fakeFetch(wireError(400, "validation_failed", "bad"));
    const { http } = client(fetch);

    // Act
    const failure = http.json(GET);

    // Assess
    await expect(failure).rejects.toBeInstanceOf(ValidationError);
    expect(fetch.calls).toHaveLength(1);
  });
});

describe("HttpClient errors", () => {
  it.each([
    [400, "validation_failed", ValidationError],
    [400, "bad_request", BadRequestError],
    [401, "unauthorized", AuthenticationError],
    [404, "not_found", NotFoundError],
    [409, "drift_detected", DriftError],
    [429, "rate_limited", RateLimitError],
  ] as const)("maps %i %s to its class with details and the x-request-id", async (status, code, expected) => {
    // Prepare
    const details = [
      {
        path: "execution_policy_config.min_replicas",
        message: "not an autoscaling field",
        received: 1,
        expected: "one of the fields min_workers, max_workers",
        suggestion: "min_workers",
      },
    ];
    const fetch = fakeFetch(wireError(status, code, "it failed", { requestId: "req_xyz", details }));
    const { http } = client(fetch, { maxRetries: 0 });

    // Act
    const error = await http.json(GET).catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(expected);
    expect(error).toMatchObject({ status, code, message: "it failed", requestId: "req_xyz", details });
  });

  it("prefers the x-request-id header and falls back to the body's request_id", async () => {
    // Prepare
    const headerAndBody = wireError(404, "not_found", "gone", {
      requestId: "req_body",
      headers: { "x-request-id": "req_header" },
    });
    const bodyOnly = jsonResponse(404, {
      error: { code: "not_found", message: "gone", request_id: "req_body", details: [] },
    });
    const fetch = fakeFetch(headerAndBody, bodyOnly);
    const { http } = client(fetch);

    // Act
    const first = await http.json(GET).catch((e: unknown) => e);
    const second = await http.json(GET).catch((e: unknown) => e);

    // Assess
    expect(first).toMatchObject({ requestId: "req_header" });
    expect(second).toMatchObject({ requestId: "req_body" });
  });

  it("records Retry-After on the final RateLimitError", async () => {
    // Prepare
    const fetch = fakeFetch(wireError(429, "rate_limited", "slow", { headers: { "retry-after": "7" } }));
    const { http } = client(fetch, { maxRetries: 0 });

    // Act
    const error = await http.json(GET).catch((e: unknown) => e);

    // Assess
    expect(error).toMatchObject({ retryAfterSeconds: 7 });
  });

  it("reports a non-JSON error body (a proxy's HTML page) by status and a snippet", async () => {
    // Prepare
    const fetch = fakeFetch(
      new Response("<html>Bad Gateway</html>", { status: 502, statusText: "Bad Gateway" }),
    );
    const { http } = client(fetch, { maxRetries: 0 });

    // Act
    const error = await http.json(GET).catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(InternalServerError);
    expect(error).toMatchObject({
      status: 502,
      code: "http_error",
      message: "HTTP 502 Bad Gateway: <html>Bad Gateway</html>",
    });
  });

  it("reports a success answer that is not JSON as invalid_response", async () => {
    // Prepare
    const fetch = fakeFetch(new Response("not json", { status: 200, headers: { "x-request-id": "req_1" } }));
    const { http } = client(fetch);

    // Act
    const error = await http.json(GET).catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(InferenceKeyError);
    expect(error).toMatchObject({ code: "invalid_response", status: 200, requestId: "req_1" });
  });
});

describe("HttpClient data-plane support", () => {
  it("reads OpenAI-shaped errors (null code -> type), vLLM's top-level shape and {error: text}", async () => {
    // Prepare
    const fetch = fakeFetch(
      jsonResponse(
        401,
        { error: { message: "bad key", type: "authentication_error", param: null, code: "invalid_api_key" } },
        { "x-request-id": "req_gw" },
      ),
      jsonResponse(400, {
        error: { message: "max_tokens too small", type: "invalid_request_error", code: null },
      }),
      jsonResponse(400, { object: "error", message: "context too long", type: "BadRequestError", code: 400 }),
      jsonResponse(404, { error: "no such route" }),
    );
    const { http } = client(fetch, { maxRetries: 0 });

    // Act
    const [openai, nullCode, vllm, text] = await Promise.all(
      [0, 1, 2, 3].map(() => http.json(POST).catch((e: unknown) => e)),
    );

    // Assess
    expect(openai).toBeInstanceOf(AuthenticationError);
    expect(openai).toMatchObject({
      code: "invalid_api_key",
      errorType: "authentication_error",
      requestId: "req_gw",
    });
    expect(nullCode).toBeInstanceOf(BadRequestError);
    expect(nullCode).toMatchObject({ code: "invalid_request_error", message: "max_tokens too small" });
    expect(vllm).toMatchObject({ status: 400, code: "BadRequestError", message: "context too long" });
    expect(text).toBeInstanceOf(NotFoundError);
    expect(text).toMatchObject({ code: "http_error", message: "no such route", errorType: undefined });
  });

  it("names the status in messages even without a reason phrase (HTTP/2)", async () => {
    // Prepare
    const fetch = fakeFetch(new Response("<html>502</html>", { status: 502 }));
    const { http } = client(fetch, { maxRetries: 0 });

    // Act
    const error = await http.json(GET).catch((e: unknown) => e);

    // Assess
    expect(error).toMatchObject({ code: "http_error", message: "HTTP 502 Bad Gateway: <html>502</html>" });
  });

  it("sends no authorization header when neither the client nor the call has a token", async () => {
    // Prepare
    const fetch = fakeFetch(jsonResponse(200, {}));
    const http = new HttpClient({ baseUrl: BASE_URL, fetch });

    // Act
    await http.json(GET);

    // Assess
    expect(fetch.calls[0]?.headers).not.toHaveProperty("authorization");
  });

  it("with timeoutScope call, bounds the whole call: no retry whose wait ends past the deadline", async () => {
    // Prepare
    vi.useFakeTimers();
    const busy = () => wireError(429, "rate_limited", "slow", { headers: { "retry-after": "4" } });
    const fetch = fakeFetch(busy(), busy(), "hang");
    const http = new HttpClient({ baseUrl: BASE_URL, token: TOKEN, fetch, maxRetries: 5, timeoutMs: 10_000 });

    // Act
    const failure = http.json({ ...GET, timeoutScope: "call" });
    const assessed = expect(failure).rejects.toBeInstanceOf(APITimeoutError);
    await vi.advanceTimersByTimeAsync(8_000);
    const callsAfterWaits = fetch.calls.length;
    await vi.advanceTimersByTimeAsync(2_000);

    // Assess
    await assessed;
    expect(callsAfterWaits).toBe(3);
    expect(fetch.calls).toHaveLength(3);
  });

  it("with timeoutScope call, throws the server's answer when its Retry-After outlasts the deadline", async () => {
    // Prepare
    const fetch = fakeFetch(wireError(429, "rate_limited", "slow", { headers: { "retry-after": "30" } }));
    const { http, waits } = client(fetch, { timeoutMs: 10_000 });

    // Act
    const error = await http.json({ ...GET, timeoutScope: "call" }).catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(RateLimitError);
    expect(waits).toEqual([]);
    expect(fetch.calls).toHaveLength(1);
  });

  it("marks a refused connection as not sent and a reset one as sent", async () => {
    // Prepare
    const fetch = fakeFetch(connectionRefused(), connectionReset());
    const { http } = client(fetch, { maxRetries: 0 });

    // Act
    const refused = await http.json(GET).catch((e: unknown) => e);
    const reset = await http.json(GET).catch((e: unknown) => e);

    // Assess
    expect(refused).toMatchObject({ requestSent: false });
    expect(reset).toMatchObject({ requestSent: true });
  });
});

describe("HttpClient timeouts and cancellation", () => {
  it("turns a hung request into APITimeoutError after timeoutMs", async () => {
    // Prepare
    vi.useFakeTimers();
    const fetch = fakeFetch("hang");
    const http = new HttpClient({ baseUrl: BASE_URL, token: TOKEN, fetch, maxRetries: 0, timeoutMs: 1_000 });

    // Act
    const failure = http.json(GET);
    const assessed = expect(failure).rejects.toBeInstanceOf(APITimeoutError);
    await vi.advanceTimersByTimeAsync(1_000);

    // Assess
    await assessed;
    await expect(failure).rejects.toMatchObject({
      code: "timeout",
      message: expect.stringContaining("1000 ms"),
    });
    expect(fetch.calls[0]?.signal?.aborted).toBe(true);
  });

  it("defaults to a 60 s timeout and retries timed-out idempotent calls", async () => {
    // Prepare
    vi.useFakeTimers();
    vi.spyOn(Math, "random").mockReturnValue(0);
    const fetch = fakeFetch("hang", jsonResponse(200, { ok: true }));
    const http = new HttpClient({ baseUrl: BASE_URL, token: TOKEN, fetch });

    // Act
    const result = http.json(GET);
    await vi.advanceTimersByTimeAsync(59_999);
    const callsBeforeTimeout = fetch.calls.length;
    await vi.advanceTimersByTimeAsync(1 + 500);

    // Assess
    expect(callsBeforeTimeout).toBe(1);
    await expect(result).resolves.toEqual({ ok: true });
    expect(fetch.calls).toHaveLength(2);
  });

  it("propagates the caller's abort as given, without retrying", async () => {
    // Prepare
    const controller = new AbortController();
    const reason = new Error("user cancelled");
    const fetch = fakeFetch("hang");
    const { http } = client(fetch);

    // Act
    const failure = http.json({ ...GET, signal: controller.signal });
    controller.abort(reason);

    // Assess
    await expect(failure).rejects.toBe(reason);
    expect(fetch.calls).toHaveLength(1);
  });

  it("rejects invalid client options at construction", () => {
    // Prepare
    const fetch = fakeFetch();

    // Act
    const build = (options: Partial<HttpClientOptions>) => () => client(fetch, options);

    // Assess
    expect(build({ baseUrl: "not a url" })).toThrow(/The base URL must be an http\(s\) URL/);
    expect(build({ baseUrl: "ftp://x" })).toThrow(/http\(s\)/);
    expect(build({ maxRetries: -1 })).toThrow(/maxRetries/);
    expect(build({ timeoutMs: 0 })).toThrow(/timeoutMs/);
  });
});
