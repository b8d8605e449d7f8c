import { USER_AGENT } from "../version";
import {
  APIConnectionError,
  APITimeoutError,
  ConfigurationError,
  type ErrorDetail,
  errorForStatus,
  InferenceKeyError,
} from "../errors";
import {
  DEFAULT_RETRY_POLICY,
  defaultSleep,
  isTransient,
  mayRetry,
  parseRetryAfter,
  type RetryPolicy,
  retryDelay,
  type Sleep,
} from "./retry";

/**
 * The subset of `fetch` the SDK calls: always `(url, init)` with a string URL, so test doubles
 * need not handle `Request` objects.
 *
 * @example
 * ```ts
 * const loggingFetch: FetchLike = (url, init) => {
 *   console.log(init.method, url);
 *   return fetch(url, init);
 * };
 * const mgmt = ManagementClient.fromEnv({ project: "acme", fetch: loggingFetch });
 * ```
 */
export type FetchLike = (url: string, init: RequestInit) => Promise<Response>;

export type HttpMethod = "GET" | "HEAD" | "POST" | "PUT" | "PATCH" | "DELETE";

/**
 * Per-call overrides every SDK method accepts.
 *
 * @example
 * ```ts
 * const controller = new AbortController();
 * await mgmt.get("support-bot", { signal: controller.signal, timeoutMs: 5_000, maxRetries: 0 });
 * ```
 */
export interface CallOptions {
  /** Cancels the call (including waits between retries); the promise rejects with the signal's reason. */
  signal?: AbortSignal | undefined;
  /** Per-attempt timeout; overrides the client's `timeoutMs`. */
  timeoutMs?: number | undefined;
  /** Overrides the client's `maxRetries` for this call (only idempotent calls are retried). */
  maxRetries?: number | undefined;
}

/**
 * Call options of a create (POST). Without `idempotencyKey` a create is never retried, since a
 * lost response could otherwise create twice; with one, it is retried like a GET and the key is
 * sent as `Idempotency-Key`. Reuse the same key only for the same logical create.
 *
 * @example
 * ```ts
 * await mgmt.keys.create("billing", { name: "backend", idempotencyKey: "billing-backend-key-2025-01" });
 * ```
 */
export interface IdempotentCallOptions extends CallOptions {
  idempotencyKey?: string | undefined;
}

/** One HTTP call as the resources describe it. */
export interface HttpRequest extends IdempotentCallOptions {
  method: HttpMethod;
  /** Path below the base URL, starting with `/`; segments already encoded. */
  path: string;
  query?: Record<string, string | number | boolean | undefined> | undefined;
  /** Serialised as JSON. */
  body?: unknown;
  headers?: Record<string, string> | undefined;
  /** Bearer token for this call instead of the client's (the data plane uses per-workload keys). */
  token?: string | undefined;
}

export interface HttpClientOptions {
  baseUrl: string;
  token: string;
  fetch?: FetchLike | undefined;
  /** Retries after the first attempt, for idempotent calls only. Default 2. */
  maxRetries?: number | undefined;
  /** Per-attempt timeout. Default 60 000 ms. */
  timeoutMs?: number | undefined;
  retryPolicy?: Partial<RetryPolicy> | undefined;
  /** Test seams: how to wait, where jitter comes from, what time it is. */
  sleep?: Sleep | undefined;
  random?: (() => number) | undefined;
  now?: (() => number) | undefined;
}

export const DEFAULT_MAX_RETRIES = 2;
export const DEFAULT_TIMEOUT_MS = 60_000;

type Outcome<T> = { ok: true; value: T } | { ok: false; error: InferenceKeyError };

/**
 * The transport shared by every client of the SDK: bearer auth, `User-Agent`, JSON bodies,
 * per-attempt timeouts, retries of transient failures for idempotent calls, and mapping of error
 * answers to the {@link InferenceKeyError} hierarchy. It knows no routes.
 *
 * @example
 * ```ts
 * const http = new HttpClient({ baseUrl: "https://api.inferencekey.com", token: "ik_sdk_..." });
 * const workload = await http.json<{ slug: string }>({ method: "GET", path: "/v1/projects/acme/workloads/billing" });
 * ```
 */
export class HttpClient {
  readonly baseUrl: string;
  private readonly token: string;
  private readonly fetchImpl: FetchLike;
  private readonly maxRetries: number;
  private readonly timeoutMs: number;
  private readonly policy: RetryPolicy;
  private readonly sleep: Sleep;
  private readonly random: () => number;
  private readonly now: () => number;

  constructor(options: HttpClientOptions) {
    this.baseUrl = normaliseBaseUrl(options.baseUrl);
    this.token = options.token;
    // Resolved per call so a fetch patched after construction (tests, instrumentation) is used.
    this.fetchImpl = options.fetch ?? ((url, init) => globalThis.fetch(url, init));
    this.maxRetries = checkCount("maxRetries", options.maxRetries ?? DEFAULT_MAX_RETRIES);
    this.timeoutMs = checkTimeout(options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    this.policy = { ...DEFAULT_RETRY_POLICY, ...options.retryPolicy };
    this.sleep = options.sleep ?? defaultSleep;
    this.random = options.random ?? Math.random;
    this.now = options.now ?? Date.now;
  }

  /**
   * Sends the request and parses the JSON answer. Error answers throw the status-mapped error.
   *
   * @example
   * ```ts
   * const page = await http.json<{ data: unknown[] }>({ method: "GET", path: "/v1/projects/acme/workloads", query: { limit: 10 } });
   * ```
   */
  async json<T>(request: HttpRequest): Promise<T> {
    const { response, text } = await this.send(request, async (response) => ({
      response,
      text: await response.text(),
    }));
    try {
      return JSON.parse(text) as T;
    } catch (error) {
      throw new InferenceKeyError({
        code: "invalid_response",
        status: response.status,
        requestId: response.headers.get("x-request-id") ?? undefined,
        message: `${request.method} ${request.path} answered ${response.status} with a body that is not JSON: ${snippet(text)}`,
        cause: error,
      });
    }
  }

  /**
   * Sends the request and returns the successful `Response` with its body unread (for streamed
   * answers). The timeout covers the wait for the headers only; cancel the body with `signal`.
   *
   * @example
   * ```ts
   * const response = await http.response({ method: "POST", path: "/endpoint/acme/bot/v1/chat/completions", body, token: apiKey });
   * for await (const chunk of response.body!) process.stdout.write(chunk);
   * ```
   */
  async response(request: HttpRequest): Promise<Response> {
    return this.send(request, async (response) => response);
  }

  private async send<T>(request: HttpRequest, consume: (response: Response) => Promise<T>): Promise<T> {
    const url = this.url(request);
    const init = this.init(request);
    const maxRetries = mayRetry(request.method, request.idempotencyKey)
      ? checkCount("maxRetries", request.maxRetries ?? this.maxRetries)
      : 0;
    const timeoutMs = checkTimeout(request.timeoutMs ?? this.timeoutMs);
    for (let retry = 0; ; retry++) {
      const outcome = await this.attempt(request, url, init, timeoutMs, consume);
      if (outcome.ok) return outcome.value;
      if (retry >= maxRetries || !isTransient(outcome.error)) throw outcome.error;
      await this.sleep(retryDelay(outcome.error, retry, this.policy, this.random), request.signal);
    }
  }

  private async attempt<T>(
    request: HttpRequest,
    url: string,
    init: RequestInit,
    timeoutMs: number,
    consume: (response: Response) => Promise<T>,
  ): Promise<Outcome<T>> {
    const caller = request.signal;
    caller?.throwIfAborted();
    const timeout = new AbortController();
    const timer = setTimeout(() => timeout.abort(), timeoutMs);
    const signal = caller === undefined ? timeout.signal : AbortSignal.any([caller, timeout.signal]);
    try {
      const response = await this.fetchImpl(url, { ...init, signal });
      if (!response.ok) return { ok: false, error: await this.errorFrom(response) };
      return { ok: true, value: await consume(response) };
    } catch (error) {
      // The caller's cancellation is not a failure to retry or wrap: it propagates as given.
      if (caller?.aborted) throw caller.reason;
      const what = `${request.method} ${request.path}`;
      if (timeout.signal.aborted) {
        return {
          ok: false,
          error: new APITimeoutError({ message: `${what} timed out after ${timeoutMs} ms.`, cause: error }),
        };
      }
      return {
        ok: false,
        error: new APIConnectionError({
          message: `${what}: could not reach ${this.baseUrl}: ${describe(error)}`,
          cause: error,
        }),
      };
    } finally {
      clearTimeout(timer);
    }
  }

  private async errorFrom(response: Response): Promise<InferenceKeyError> {
    const text = await response.text();
    const wire = parseWireError(text);
    const retryAfterMs = parseRetryAfter(response.headers.get("retry-after"), this.now());
    const statusLine = `HTTP ${response.status}${response.statusText ? ` ${response.statusText}` : ""}`;
    return errorForStatus({
      status: response.status,
      code: wire?.code ?? "http_error",
      message: wire?.message ?? (text.trim() === "" ? statusLine : `${statusLine}: ${snippet(text)}`),
      requestId: response.headers.get("x-request-id") ?? wire?.requestId,
      details: wire?.details ?? [],
      retryAfterSeconds: retryAfterMs === undefined ? undefined : retryAfterMs / 1000,
    });
  }

  private url(request: HttpRequest): string {
    const query = new URLSearchParams();
    for (const [key, value] of Object.entries(request.query ?? {})) {
      if (value !== undefined) query.set(key, String(value));
    }
    const search = query.toString();
    return `${this.baseUrl}${request.path}${search === "" ? "" : `?${search}`}`;
  }

  private init(request: HttpRequest): RequestInit {
    const headers: Record<string, string> = {
      accept: "application/json",
      authorization: `Bearer ${request.token ?? this.token}`,
      "user-agent": USER_AGENT,
    };
    if (request.body !== undefined) headers["content-type"] = "application/json";
    if (request.idempotencyKey !== undefined && request.idempotencyKey !== "") {
      headers["idempotency-key"] = request.idempotencyKey;
    }
    return {
      method: request.method,
      headers: { ...headers, ...request.headers },
      ...(request.body === undefined ? {} : { body: JSON.stringify(request.body) }),
    };
  }
}

/** The wire error body, read defensively: a proxy in front of the API may answer anything. */
function parseWireError(
  text: string,
): { code: string; message: string; requestId?: string; details: ErrorDetail[] } | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  const error = isRecord(parsed) ? parsed.error : undefined;
  if (!isRecord(error) || typeof error.code !== "string" || typeof error.message !== "string")
    return undefined;
  const details = Array.isArray(error.details) ? error.details.filter(isRecord).map(toDetail) : [];
  return {
    code: error.code,
    message: error.message,
    ...(typeof error.request_id === "string" ? { requestId: error.request_id } : {}),
    details,
  };
}

function toDetail(raw: Record<string, unknown>): ErrorDetail {
  return {
    path: typeof raw.path === "string" ? raw.path : "",
    message: typeof raw.message === "string" ? raw.message : "",
    ...("received" in raw ? { received: raw.received } : {}),
    ...(typeof raw.expected === "string" ? { expected: raw.expected } : {}),
    ...(typeof raw.suggestion === "string" ? { suggestion: raw.suggestion } : {}),
  };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  // undici reports "fetch failed" and keeps the useful part (ECONNREFUSED, ENOTFOUND) in `cause`.
  const cause = error.cause instanceof Error ? `: ${error.cause.message}` : "";
  return `${error.message}${cause}`;
}

function snippet(text: string): string {
  const flat = text.replace(/\s+/g, " ").trim();
  return flat.length > 200 ? `${flat.slice(0, 200)}...` : flat;
}

/**
 * The base URL without trailing slashes, or a ConfigurationError naming where it came from
 * (`source`: "The base URL" for an option, the variable's name for the environment).
 */
export function normaliseBaseUrl(baseUrl: string, source = "The base URL"): string {
  let url: URL | undefined;
  try {
    url = new URL(baseUrl);
  } catch {
    url = undefined;
  }
  if (url === undefined || (url.protocol !== "https:" && url.protocol !== "http:")) {
    throw new ConfigurationError(
      `${source} must be an http(s) URL such as https://api.inferencekey.com; got ${JSON.stringify(baseUrl)}.`,
    );
  }
  return baseUrl.replace(/\/+$/, "");
}

function checkCount(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 0) {
    throw new ConfigurationError(`${name} must be a whole number >= 0, got ${value}.`);
  }
  return value;
}

function checkTimeout(value: number): number {
  if (!Number.isFinite(value) || value <= 0) {
    throw new ConfigurationError(`timeoutMs must be a positive number of milliseconds, got ${value}.`);
  }
  return value;
}
