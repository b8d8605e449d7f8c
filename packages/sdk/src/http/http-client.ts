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
  isScalingUp,
  isTransient,
  mayRetry,
  parseRetryAfter,
  parseRetryAfterMs,
  refusedBeforeProcessing,
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
  /**
   * Overrides the client's `maxRetries` for this call. Idempotent calls are retried on any
   * transient failure; POSTs without an idempotency key only when refused before processing.
   */
  maxRetries?: number | undefined;
}

/**
 * Call options of a create (POST). Without `idempotencyKey` a create is retried only when the
 * server refused it before processing (429, a connection that failed before sending), since a
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
  /**
   * What `timeoutMs` bounds: each attempt (default), or the whole call, retries and the waits
   * between them included; a retry whose wait would end after the deadline is not made.
   */
  timeoutScope?: "attempt" | "call" | undefined;
  /**
   * Data plane: for how long (from the call's start) 503 `workload_scaling_up` answers are polled,
   * each after its `Retry-After`, without counting against `maxRetries`. Without it they are
   * ordinary retries.
   */
  scaleUpBudgetMs?: number | undefined;
}

export interface HttpClientOptions {
  baseUrl: string;
  /** Bearer token of every call that does not bring its own; none is sent when neither is set. */
  token?: string | undefined;
  fetch?: FetchLike | undefined;
  /** Retries after the first attempt (see {@link CallOptions.maxRetries} for which). Default 2. */
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
/** A scaling-up poll never comes sooner than this, whatever `Retry-After` says. */
const MIN_SCALE_UP_POLL_MS = 100;

type Outcome<T> = { ok: true; value: T } | { ok: false; error: InferenceKeyError };

/**
 * The transport shared by every client of the SDK: bearer auth, `User-Agent`, JSON bodies,
 * timeouts, retries of transient failures (every one for idempotent calls; for other POSTs only
 * those the server refused before processing), and mapping of error answers to the
 * {@link InferenceKeyError} hierarchy. It knows no routes.
 *
 * @example
 * ```ts
 * const http = new HttpClient({ baseUrl: "https://api.inferencekey.com", token: "ik_sdk_..." });
 * const workload = await http.json<{ slug: string }>({ method: "GET", path: "/v1/projects/acme/workloads/billing" });
 * ```
 */
export class HttpClient {
  readonly baseUrl: string;
  private readonly token: string | undefined;
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
    const idempotent = mayRetry(request.method, request.idempotencyKey);
    const maxRetries = checkCount("maxRetries", request.maxRetries ?? this.maxRetries);
    const timeoutMs = checkTimeout(request.timeoutMs ?? this.timeoutMs);
    const wholeCall = request.timeoutScope === "call";
    const started = this.now();
    const deadline = started + timeoutMs;
    const scaleUpDeadline = request.scaleUpBudgetMs === undefined ? undefined : started + request.scaleUpBudgetMs;
    // Counts retries against maxRetries; polls of a cold workload do not.
    let retry = 0;
    for (;;) {
      // Timers may fire late; an attempt always gets at least a moment rather than none.
      const attemptMs = wholeCall ? Math.max(1, deadline - this.now()) : timeoutMs;
      const outcome = await this.attempt(request, url, init, attemptMs, timeoutMs, consume);
      if (outcome.ok) return outcome.value;
      const error = outcome.error;
      if (scaleUpDeadline !== undefined && isScalingUp(error)) {
        // A cold workload: poll until its replica is ready, as often as the gateway suggests.
        const delay = Math.max(MIN_SCALE_UP_POLL_MS, retryDelay(error, 0, this.policy, this.random));
        const resumeAt = this.now() + delay;
        if (resumeAt >= scaleUpDeadline || (wholeCall && resumeAt >= deadline)) throw error;
        await this.sleep(delay, request.signal);
        continue;
      }
      if (retry >= maxRetries || !isTransient(error)) throw error;
      // A POST without an idempotency key may have done its work unless the server refused it
      // before processing (429, 503 workload_scaling_up, never connected): only those are resent.
      if (!idempotent && !refusedBeforeProcessing(error)) throw error;
      const delay = retryDelay(error, retry, this.policy, this.random);
      // Waiting past the call's deadline cannot end in success: report the server's answer now.
      if (wholeCall && this.now() + delay >= deadline) throw error;
      await this.sleep(delay, request.signal);
      retry++;
    }
  }

  private async attempt<T>(
    request: HttpRequest,
    url: string,
    init: RequestInit,
    attemptMs: number,
    timeoutMs: number,
    consume: (response: Response) => Promise<T>,
  ): Promise<Outcome<T>> {
    const caller = request.signal;
    caller?.throwIfAborted();
    const timeout = new AbortController();
    const timer = setTimeout(() => timeout.abort(), attemptMs);
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
          requestSent: !failedBeforeSending(error),
        }),
      };
    } finally {
      clearTimeout(timer);
    }
  }

  private async errorFrom(response: Response): Promise<InferenceKeyError> {
    const text = await response.text();
    const wire = parseWireError(text);
    // retry-after-ms first: it keeps the sub-second waits the gateway asks for while a replica starts.
    const retryAfterMs =
      parseRetryAfterMs(response.headers.get("retry-after-ms")) ?? parseRetryAfter(response.headers.get("retry-after"), this.now());
    // HTTP/2 carries no reason phrase: use the standard one so messages read the same either way.
    const reason = response.statusText || REASON_PHRASES[response.status] || "";
    const statusLine = `HTTP ${response.status}${reason ? ` ${reason}` : ""}`;
    return errorForStatus({
      status: response.status,
      code: wire?.code ?? "http_error",
      message: wire?.message ?? (text.trim() === "" ? statusLine : `${statusLine}: ${snippet(text)}`),
      requestId: response.headers.get("x-request-id") ?? wire?.requestId,
      details: wire?.details ?? [],
      retryAfterSeconds: retryAfterMs === undefined ? undefined : retryAfterMs / 1000,
      errorType: wire?.errorType,
      fields: wire?.fields,
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
      "user-agent": USER_AGENT,
    };
    const token = request.token ?? this.token;
    if (token !== undefined) headers.authorization = `Bearer ${token}`;
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

/** An error answer read from any of the shapes below, before a class is chosen. */
export interface WireError {
  code: string;
  message: string;
  requestId?: string;
  details: ErrorDetail[];
  errorType?: string;
  /** The whole error object, for fields beyond these (`next_opening_at`, `reason`, `next_retry_at`). */
  fields: Record<string, unknown>;
}

/**
 * The wire error body, read defensively: a proxy in front of the API may answer anything.
 * Understands the control API's `{"error": {code, message, request_id, details}}`, the data
 * plane's OpenAI shape `{"error": {message, type, param, code}}` (a null or numeric `code` falls
 * back to `type`), `{"error": "text"}`, and vLLM's top-level `{"object": "error", message, type, code}`.
 * Undefined when no error object is found or it has no message.
 */
export function parseWireError(text: string): WireError | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  return wireErrorOf(parsed);
}

/** {@link parseWireError} for a body already parsed (an error event inside a stream). */
export function wireErrorOf(parsed: unknown): WireError | undefined {
  if (!isRecord(parsed)) return undefined;
  const inner = parsed.error;
  const error = isRecord(inner)
    ? inner
    : typeof inner === "string"
      ? { message: inner }
      : parsed.object === "error"
        ? parsed
        : undefined;
  if (error === undefined || typeof error.message !== "string" || error.message === "") return undefined;
  const errorType = typeof error.type === "string" && error.type !== "" ? error.type : undefined;
  const code = typeof error.code === "string" && error.code !== "" ? error.code : (errorType ?? "http_error");
  const details = Array.isArray(error.details) ? error.details.filter(isRecord).map(toDetail) : [];
  return {
    code,
    message: error.message,
    ...(typeof error.request_id === "string" ? { requestId: error.request_id } : {}),
    details,
    ...(errorType === undefined ? {} : { errorType }),
    fields: error,
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

/** A plain JSON object (not null, not an array). */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

const REASON_PHRASES: Readonly<Record<number, string>> = {
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  408: "Request Timeout",
  409: "Conflict",
  413: "Content Too Large",
  422: "Unprocessable Content",
  429: "Too Many Requests",
  500: "Internal Server Error",
  502: "Bad Gateway",
  503: "Service Unavailable",
  504: "Gateway Timeout",
};

/** Socket errors raised while connecting, i.e. before any byte of the request was written. */
const CONNECT_FAILURES = [
  "ECONNREFUSED",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "UND_ERR_CONNECT_TIMEOUT",
];
const CONNECT_FAILURE_PATTERN = new RegExp(`\\b(${CONNECT_FAILURES.join("|")})\\b`);

/**
 * Whether a fetch failure happened while connecting. undici throws "fetch failed" with the socket
 * error (its `code`, and the code in its message) as `cause`; anything unrecognised counts as sent.
 */
function failedBeforeSending(error: unknown): boolean {
  let current: unknown = error;
  for (let depth = 0; depth < 4 && current instanceof Error; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === "string" && CONNECT_FAILURES.includes(code)) return true;
    if (CONNECT_FAILURE_PATTERN.test(current.message)) return true;
    current = current.cause;
  }
  return false;
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
