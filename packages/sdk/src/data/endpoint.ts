import { snakeKeys } from "../casing";
import { ConfigurationError, JobFailedError, ValidationError, WaitTimeoutError } from "../errors";
import type { CallOptions, HttpClient, HttpRequest } from "../http/http-client";
import { backoffDelay, defaultSleep } from "../http/retry";
import { pathOf } from "../resources/paths";
import type { Page } from "../resources/workloads";
import {
  type ClassificationResult,
  isTerminalJobStatus,
  type Job,
  type JobResult,
  type JobStatus,
  type Rerank,
  type RerankResult,
  type RewardResult,
  toClassificationResult,
  toJob,
  toJobPage,
  toRerank,
  toRerankResult,
  toRewardResult,
} from "./jobs";
import {
  type ChatCompletion,
  type ChatMessage,
  type Embeddings,
  type TextGeneration,
  toChatCompletion,
  toEmbeddings,
  toTextGeneration,
} from "./results";
import { TextStream } from "./text-stream";

/**
 * Per-call options of every data-plane method: `signal`, `timeoutMs` (the whole call, retries
 * and waits included; for a stream, until its headers arrive), `maxRetries`, and
 * `scaleUpTimeoutSeconds`, which overrides the endpoint's.
 *
 * @example
 * ```ts
 * const options: DataCallOptions = { timeoutMs: 180_000, scaleUpTimeoutSeconds: 120, signal: AbortSignal.timeout(200_000) };
 * await ep.generateText({ prompt: "Hi", ...options });
 * ```
 */
export interface DataCallOptions extends CallOptions {
  /**
   * Seconds the gateway may hold the request while a replica of a scaled-to-zero workload
   * starts (sent as `X-Scale-Up-Timeout`; the gateway caps it, 120 s by default), and for which
   * the SDK keeps polling a 503 `workload_scaling_up` (each after its `Retry-After`, at most 2 s
   * under `npm start`; these polls do not count against `maxRetries`). Without it the gateway
   * answers at once with that 503 and the SDK polls for as long as the call's `timeoutMs` allows.
   * Must be below the call's `timeoutMs`.
   */
  scaleUpTimeoutSeconds?: number | undefined;
}

/**
 * Sampling options shared by `generateText`, `streamText`, `chat` and `streamChat`, in camelCase;
 * they are sent snake_cased (`maxTokens` -> `max_tokens`). `model` may be omitted: an endpoint
 * serves one model. `extraBody` is merged into the body as given (wire names), for
 * backend-specific fields such as vLLM's `top_k`.
 *
 * @example
 * ```ts
 * const sampling: SamplingOptions = { temperature: 0.2, maxTokens: 300, stop: ["\n\n"], extraBody: { top_k: 40 } };
 * await ep.generateText({ prompt: "Hi", ...sampling });
 * ```
 */
export interface SamplingOptions {
  model?: string | undefined;
  temperature?: number | undefined;
  maxTokens?: number | undefined;
  topP?: number | undefined;
  stop?: string | string[] | undefined;
  seed?: number | undefined;
  presencePenalty?: number | undefined;
  frequencyPenalty?: number | undefined;
  extraBody?: Record<string, unknown> | undefined;
}

/**
 * Options of `generateText()`: the `prompt`, sampling options and call options.
 *
 * @example
 * ```ts
 * const options: GenerateTextOptions = { prompt: "Hola, ¿cuál es mi saldo?", temperature: 0.2, maxTokens: 300 };
 * const out = await ep.generateText(options);
 * ```
 */
export interface GenerateTextOptions extends SamplingOptions, DataCallOptions {
  prompt: string;
}

/**
 * Options of `streamText()`: those of `generateText()` plus `includeUsage` (default true), which
 * asks the server for a final usage chunk (`stream_options.include_usage`).
 *
 * @example
 * ```ts
 * const options: StreamTextOptions = { prompt: "Tell me a story", maxTokens: 400, includeUsage: true };
 * const stream = ep.streamText(options);
 * ```
 */
export interface StreamTextOptions extends GenerateTextOptions {
  includeUsage?: boolean | undefined;
}

/**
 * Options of `chat()`: the conversation (`messages`, OpenAI wire form), sampling and call options.
 *
 * @example
 * ```ts
 * const options: ChatOptions = {
 *   messages: [
 *     { role: "system", content: "You are a concise banking assistant." },
 *     { role: "user", content: "What is my balance?" },
 *   ],
 *   maxTokens: 200,
 * };
 * const reply = await ep.chat(options);
 * ```
 */
export interface ChatOptions extends SamplingOptions, DataCallOptions {
  messages: ChatMessage[];
}

/**
 * Options of `streamChat()`: those of `chat()` plus `includeUsage` (default true).
 *
 * @example
 * ```ts
 * const options: StreamChatOptions = { messages: [{ role: "user", content: "Hi" }], includeUsage: false };
 * for await (const delta of ep.streamChat(options)) process.stdout.write(delta);
 * ```
 */
export interface StreamChatOptions extends ChatOptions {
  includeUsage?: boolean | undefined;
}

/**
 * Options of `embed()`: one text or a list (`input`), optional `model` and `dimensions`
 * (for models that can shorten vectors), `extraBody`, and call options.
 *
 * @example
 * ```ts
 * const options: EmbedOptions = { input: ["invoice #42", "refund policy"], dimensions: 256 };
 * const emb = await ep.embed(options);
 * ```
 */
export interface EmbedOptions extends DataCallOptions {
  input: string | string[];
  model?: string | undefined;
  dimensions?: number | undefined;
  extraBody?: Record<string, unknown> | undefined;
}

/**
 * Options of `submitJob()`: the task's `input` as the backend's native route takes it, without
 * `model` (reranker `{ query, documents, topN? }` in wire names: `{ query, documents, top_n }`;
 * classification `{ input }`; reward `{ input }` or `{ messages }`), and optionally an
 * `idempotencyKey` (generated when omitted), a `webhook` called when the job ends, and
 * `maxQueueSeconds` (how long it may wait for a replica before it expires).
 *
 * @example
 * ```ts
 * const options: SubmitJobOptions = {
 *   input: { query: "refund policy", documents: ["Refunds within 30 days.", "Shipping is free."] },
 *   idempotencyKey: "rerank-order-42",
 *   webhook: { url: "https://example.com/hooks/inferencekey" },
 *   maxQueueSeconds: 600,
 * };
 * const job = await ep.submitJob(options);
 * ```
 */
export interface SubmitJobOptions extends CallOptions {
  input: Record<string, unknown>;
  /**
   * Sent as `Idempotency-Key` (at most 255 printable characters): the same key and body give the
   * same job; another body with the same key is an `IdempotencyKeyReusedError`. When omitted the SDK
   * generates one per `submitJob()` call, so its own retries never create a second job.
   */
  idempotencyKey?: string | undefined;
  /** `https://` URL (or `{ url }`) called, signed with the workload's `whsec_` secret, when the job ends. */
  webhook?: string | { url: string } | undefined;
  /** Seconds the job may wait for a ready replica before it `expired` (the workload's default otherwise). */
  maxQueueSeconds?: number | undefined;
}

/**
 * Options of `getJob()`: `waitSeconds` (1-20) long-polls, answering as soon as the job is terminal
 * or when the wait ends, with the job as it is then.
 *
 * @example
 * ```ts
 * const options: GetJobOptions = { waitSeconds: 10 };
 * const job = await ep.getJob("job_123", options);
 * ```
 */
export interface GetJobOptions extends CallOptions {
  waitSeconds?: number | undefined;
}

/**
 * Options of `waitForJob()`: `timeoutMs` bounds the whole wait (default 600 000, 10 minutes);
 * `longPollSeconds` (1-20, default 20) is how long each request may be held by the server;
 * `signal` cancels the wait (not the job: use `cancelJob`).
 *
 * @example
 * ```ts
 * const options: WaitForJobOptions = { timeoutMs: 120_000, longPollSeconds: 10 };
 * const job = await ep.waitForJob("job_123", options);
 * ```
 */
export interface WaitForJobOptions {
  signal?: AbortSignal | undefined;
  timeoutMs?: number | undefined;
  longPollSeconds?: number | undefined;
  /** Retries of each poll on transient failures (polls are GETs). Default: the client's. */
  maxRetries?: number | undefined;
}

/**
 * Options of `listJobs()` / `listAllJobs()`: filter by `status`, page size `limit`, and the
 * `cursor` of the previous page.
 *
 * @example
 * ```ts
 * const options: ListJobsOptions = { status: "failed", limit: 50 };
 * const page = await ep.listJobs(options);
 * ```
 */
export interface ListJobsOptions extends CallOptions {
  status?: JobStatus | undefined;
  limit?: number | undefined;
  cursor?: string | undefined;
}

/**
 * Options shared by the helpers that submit a job and wait for it (`classify`, `reward`,
 * `jobs.rerank`, `jobs.classify`, `jobs.reward`): those of `submitJob()` but `input`, with
 * `timeoutMs` bounding the whole call (submit and wait; default 600 000) and `longPollSeconds`
 * as in `waitForJob()`.
 *
 * @example
 * ```ts
 * const options: RunJobOptions = { timeoutMs: 300_000, maxQueueSeconds: 240, idempotencyKey: "nightly-2025-01-01-17" };
 * const out = await ep.classify({ input: "great product", ...options });
 * ```
 */
export interface RunJobOptions extends Omit<SubmitJobOptions, "input">, WaitForJobOptions {
  timeoutMs?: number | undefined;
}

/**
 * Options of the synchronous `rerank()` (`POST .../v1/rerank`): the `query`, the `documents`,
 * optionally `topN`, `model` and `extraBody`, and call options.
 *
 * @example
 * ```ts
 * const options: RerankOptions = { query: "refund policy", documents: ["Refunds within 30 days.", "Shipping is free."], topN: 1 };
 * const out = await ep.rerank(options);
 * ```
 */
export interface RerankOptions extends DataCallOptions {
  query: string;
  documents: string[];
  topN?: number | undefined;
  model?: string | undefined;
  extraBody?: Record<string, unknown> | undefined;
}

/**
 * Options of `jobs.rerank()`: the `query`, the `documents`, optionally `topN`, and the job options.
 *
 * @example
 * ```ts
 * const options: JobRerankOptions = { query: "refund policy", documents, topN: 3, timeoutMs: 300_000 };
 * const ranked = await ep.jobs.rerank(options);
 * ```
 */
export interface JobRerankOptions extends RunJobOptions {
  query: string;
  documents: string[];
  topN?: number | undefined;
}

/**
 * Options of `classify()`: one text or a list (`input`), and the job options.
 *
 * @example
 * ```ts
 * const options: ClassifyOptions = { input: ["great product", "never again"] };
 * const out = await ep.classify(options);
 * ```
 */
export interface ClassifyOptions extends RunJobOptions {
  input: string | string[];
}

/**
 * Options of `reward()`: one text or a list (`input`), or a conversation (`messages`), and the
 * job options.
 *
 * @example
 * ```ts
 * const options: RewardOptions = { messages: [{ role: "user", content: "2+2?" }, { role: "assistant", content: "4" }] };
 * const out = await ep.reward(options);
 * ```
 */
export type RewardOptions = RunJobOptions &
  ({ input: string | string[]; messages?: undefined } | { messages: ChatMessage[]; input?: undefined });

/** How long `waitForJob` and the helpers wait by default: 10 minutes. */
const DEFAULT_JOB_WAIT_MS = 600_000;
/** The server's cap on `?wait=`. */
const MAX_LONG_POLL_SECONDS = 20;
/** Headroom of a long poll's HTTP timeout over its `wait`, for the answer to arrive. */
const LONG_POLL_MARGIN_MS = 10_000;
/** Backoff between polls that came back early (a server that did not hold the request). */
const POLL_BACKOFF = { initialDelayMs: 500, maxDelayMs: 5_000, maxRetryAfterMs: 5_000, jitter: 0.25 };

/**
 * Options of `data.endpoint(slug, ...)`: the workload's `ik_live_` data key (typed
 * `string | undefined` so `process.env.X` can be passed; a missing key throws a
 * `ConfigurationError` from `endpoint()`) and a default `scaleUpTimeoutSeconds` for its calls.
 *
 * @example
 * ```ts
 * const options: EndpointOptions = { apiKey: process.env.SUPPORT_IK_LIVE, scaleUpTimeoutSeconds: 60 };
 * const ep = data.endpoint("support-bot", options);
 * ```
 */
export interface EndpointOptions {
  /**
   * The workload's `ik_live_` data key. When the property is absent, the client's default is used
   * (`apiKey` of `new DataClient()`, or `INFERENCEKEY_API_KEY` read by `DataClient.fromEnv()`);
   * present but undefined (an unset variable you read) is an error, never a silent fallback.
   */
  apiKey?: string | undefined;
  scaleUpTimeoutSeconds?: number | undefined;
}

/** Option names that steer the call rather than the request body. */
const NOT_BODY = new Set([
  "signal",
  "timeoutMs",
  "maxRetries",
  "scaleUpTimeoutSeconds",
  "includeUsage",
  "extraBody",
  "prompt",
  "messages",
  "input",
]);

/** Everything but the call's own options, snake_cased; `extraBody` last, as given. */
function bodyFields(
  options: object,
  extraBody: Record<string, unknown> | undefined,
): Record<string, unknown> {
  const fields = Object.fromEntries(Object.entries(options).filter(([key]) => !NOT_BODY.has(key)));
  return { ...snakeKeys(fields), ...extraBody };
}

/**
 * One workload's OpenAI-compatible endpoint (`{base}/endpoint/{project}/{slug}/v1`), called with
 * its `ik_live_` data key. Get one from `data.endpoint(slug, { apiKey })`.
 *
 * `generateText` and `streamText` send the prompt to `chat/completions` as a single user message:
 * every chat model serves that route with its chat template applied, while the legacy
 * `completions` route would feed the raw prompt without it (the Python SDK does the same).
 *
 * Retries: these calls are POSTs, so they are retried only when the server provably did nothing
 * with them: 429 (honouring `Retry-After`) and a connection that failed before the request was
 * sent, up to `maxRetries`. A cold workload's 503 `workload_scaling_up` is polled instead, after
 * each answer's `retry-after-ms`/`Retry-After`, until a replica answers or `scaleUpTimeoutSeconds`
 * (default: the call's `timeoutMs`) runs out; these polls do not count against `maxRetries`. Any
 * other failure is thrown at once, since the model may already have run. `timeoutMs` bounds the
 * whole call, waits included: a retry whose wait would end past it is not made, and the last
 * error is thrown.
 *
 * For routes without a helper (images, audio), point an OpenAI client at {@link Endpoint.baseUrl}
 * with the same key.
 *
 * @example
 * ```ts
 * import { DataClient } from "@inferencekey/sdk";
 *
 * const data = DataClient.fromEnv({ project: "acme" });
 * const ep = data.endpoint("support-bot", { apiKey: process.env.SUPPORT_IK_LIVE });
 * const out = await ep.generateText({ prompt: "Hola, ¿cuál es mi saldo?", temperature: 0.2, maxTokens: 300 });
 * console.log(out.text, out.model);
 * ```
 */
export class Endpoint {
  /** The project of the workload. */
  readonly project: string;
  /** The workload's slug. */
  readonly slug: string;
  /** The OpenAI-compatible base URL of this workload: `{base}/endpoint/{project}/{slug}/v1`. */
  readonly baseUrl: string;
  private readonly path: string;
  private readonly apiKey: string;
  private readonly scaleUpTimeoutSeconds: number | undefined;

  /**
   * The helpers that run one job and wait for its result: `jobs.rerank()`, `jobs.classify()`,
   * `jobs.reward()` (the last two are also `classify()` and `reward()` on the endpoint).
   */
  readonly jobs: EndpointJobs;

  /** @internal Built by `DataClient.endpoint()`. */
  constructor(
    private readonly http: HttpClient,
    private readonly timeoutMs: number,
    project: string,
    slug: string,
    options: EndpointOptions | undefined,
    defaultApiKey?: string | undefined,
  ) {
    if (typeof slug !== "string" || slug.trim() === "") {
      throw new ConfigurationError(
        'endpoint() needs the workload slug, e.g. data.endpoint("support-bot", { apiKey }).',
      );
    }
    const given = options !== undefined && options !== null && "apiKey" in options;
    const rawKey = given ? options.apiKey : defaultApiKey;
    const apiKey = typeof rawKey === "string" ? rawKey.trim() : "";
    if (apiKey === "") {
      throw new ConfigurationError(
        `endpoint("${slug}") needs the workload's ik_live_ data key in { apiKey } (got ${
          !given
            ? "none, and the client has no default: set INFERENCEKEY_API_KEY for DataClient.fromEnv(), or pass { apiKey }"
            : rawKey === undefined
              ? "undefined: is the environment variable you read set?"
              : "an empty string"
        }). Create one with mgmt.keys.create("${slug}", { name }).`,
      );
    }
    if (apiKey.startsWith("ik_sdk_") || apiKey.startsWith("ik_wrk_")) {
      const kind = apiKey.startsWith("ik_sdk_") ? "an ik_sdk_ control token" : "an ik_wrk_ agent token";
      throw new ConfigurationError(
        `endpoint("${slug}") was given ${kind} as apiKey; endpoints take the workload's ik_live_ data key (mgmt.keys.create).`,
      );
    }
    this.project = project;
    this.slug = slug;
    this.apiKey = apiKey;
    this.scaleUpTimeoutSeconds = checkScaleUp(options?.scaleUpTimeoutSeconds, timeoutMs);
    this.path = pathOf`/endpoint/${project}/${slug}/v1`;
    this.baseUrl = `${http.baseUrl}${this.path}`;
    this.jobs = new EndpointJobs(this);
  }

  /**
   * Generates text for `prompt`, sent to `chat/completions` as one user message.
   *
   * @example
   * ```ts
   * const out = await ep.generateText({ prompt: "Hola, ¿cuál es mi saldo?", temperature: 0.2, maxTokens: 300 });
   * console.log(out.text, out.model, out.usage?.totalTokens, out.finishReason);
   * ```
   */
  async generateText(options: GenerateTextOptions): Promise<TextGeneration> {
    const body = this.promptBody(options);
    return toTextGeneration(await this.http.json<unknown>(this.request("chat/completions", body, options)));
  }

  /**
   * Streams the answer to `prompt` as text deltas (`stream: true`, Server-Sent Events). Returns
   * at once; the request is sent when iteration starts. See {@link TextStream}.
   *
   * @example
   * ```ts
   * const controller = new AbortController();
   * const stream = ep.streamText({ prompt: "Tell me a story", maxTokens: 400, signal: controller.signal });
   * for await (const delta of stream) process.stdout.write(delta);
   * console.log(stream.usage); // { promptTokens, completionTokens, totalTokens }
   * ```
   */
  streamText(options: StreamTextOptions): TextStream {
    const body = this.streaming(this.promptBody(options), options.includeUsage);
    return this.stream(body, options);
  }

  /**
   * Answers a conversation (`chat/completions`). `reply.message` can be appended to `messages`.
   *
   * @example
   * ```ts
   * const messages: ChatMessage[] = [
   *   { role: "system", content: "You are a concise banking assistant." },
   *   { role: "user", content: "What is my balance?" },
   * ];
   * const reply = await ep.chat({ messages, maxTokens: 200 });
   * messages.push(reply.message);
   * ```
   */
  async chat(options: ChatOptions): Promise<ChatCompletion> {
    const body = this.chatBody(options);
    return toChatCompletion(await this.http.json<unknown>(this.request("chat/completions", body, options)));
  }

  /**
   * Streams the answer to a conversation as text deltas. See {@link TextStream}.
   *
   * @example
   * ```ts
   * const stream = ep.streamChat({ messages: [{ role: "user", content: "Hi" }] });
   * for await (const delta of stream) process.stdout.write(delta);
   * ```
   */
  streamChat(options: StreamChatOptions): TextStream {
    const body = this.streaming(this.chatBody(options), options.includeUsage);
    return this.stream(body, options);
  }

  /**
   * Embeds one text or a list (`embeddings`); vectors come back in input order.
   *
   * @example
   * ```ts
   * const emb = await ep.embed({ input: ["invoice #42", "refund policy"] });
   * console.log(emb.embeddings.length, "vectors", emb.model);
   * ```
   */
  async embed(options: EmbedOptions): Promise<Embeddings> {
    const input = options?.input;
    const valid =
      typeof input === "string" || (Array.isArray(input) && input.every((item) => typeof item === "string"));
    if (!valid) {
      throw invalid("input", input, 'a string or an array of strings, e.g. ["invoice #42", "refund policy"]');
    }
    const body = { input, ...bodyFields(options, options.extraBody) };
    return toEmbeddings(await this.http.json<unknown>(this.request("embeddings", body, options)));
  }

  /**
   * Reranks `documents` against `query` synchronously (`POST .../v1/rerank`, reranker workloads):
   * `results` come back sorted by `relevanceScore`, highest first, each with the document's
   * `index` in your list. Retried like the other data-plane calls.
   *
   * @example
   * ```ts
   * const documents = ["Refunds within 30 days.", "Shipping is free.", "Returns need a receipt."];
   * const out = await ep.rerank({ query: "how do refunds work?", documents, topN: 2 });
   * for (const r of out.results) console.log(r.relevanceScore.toFixed(3), documents[r.index]);
   * ```
   */
  async rerank(options: RerankOptions): Promise<Rerank> {
    const body = {
      ...rerankInput(options),
      ...(options.model === undefined ? {} : { model: options.model }),
      ...options.extraBody,
    };
    return toRerank(await this.http.json<unknown>(this.request("rerank", body, options)));
  }

  /**
   * Submits an async job (`POST .../v1/jobs`, 202) and returns it, usually `queued`. An
   * `Idempotency-Key` is always sent (yours, or one generated for this call), so the submit is
   * retried on any transient failure without ever creating a second job.
   *
   * @example
   * ```ts
   * const job = await ep.submitJob({
   *   input: { query: "refund policy", documents: ["Refunds within 30 days.", "Shipping is free."] },
   *   webhook: "https://example.com/hooks/inferencekey",
   * });
   * console.log(job.id, job.status); // job_... queued
   * ```
   */
  async submitJob<R = JobResult>(options: SubmitJobOptions): Promise<Job<R>> {
    const input = options?.input;
    if (!isPlainObject(input)) {
      throw invalid("input", input, 'the task\'s input as an object, e.g. { input: ["great product"] } for classification');
    }
    const idempotencyKey = options.idempotencyKey ?? globalThis.crypto.randomUUID();
    checkIdempotencyKey(idempotencyKey);
    const body: Record<string, unknown> = { ...input };
    if (options.webhook !== undefined) {
      body.webhook = typeof options.webhook === "string" ? { url: options.webhook } : { url: options.webhook.url };
    }
    if (options.maxQueueSeconds !== undefined) body.max_queue_seconds = options.maxQueueSeconds;
    const answer = await this.http.json<unknown>({
      method: "POST",
      path: `${this.path}/jobs`,
      body,
      token: this.apiKey,
      idempotencyKey,
      signal: options.signal,
      timeoutMs: options.timeoutMs,
      maxRetries: options.maxRetries,
      timeoutScope: "call",
    });
    return toJob<R>(answer);
  }

  /**
   * Reads a job. With `waitSeconds` (1-20) the server holds the request until the job is terminal
   * or the wait ends. Throws `JobNotFoundError` for an unknown (or expired and dropped) id.
   *
   * @example
   * ```ts
   * const job = await ep.getJob("job_123");
   * console.log(job.status, job.history.map((h) => h.status));
   * ```
   */
  async getJob<R = JobResult>(id: string, options: GetJobOptions = {}): Promise<Job<R>> {
    checkJobId(id);
    const wait = options.waitSeconds;
    if (wait !== undefined && !(Number.isInteger(wait) && wait >= 1 && wait <= MAX_LONG_POLL_SECONDS)) {
      throw new ConfigurationError(`waitSeconds must be a whole number from 1 to ${MAX_LONG_POLL_SECONDS}, got ${wait}.`);
    }
    // A held request needs more time than the wait itself, whatever the client's timeout.
    const floorMs = wait === undefined ? 0 : wait * 1000 + LONG_POLL_MARGIN_MS;
    const answer = await this.http.json<unknown>({
      method: "GET",
      path: `${this.path}/jobs/${encodeURIComponent(id)}`,
      query: { wait },
      token: this.apiKey,
      signal: options.signal,
      timeoutMs: Math.max(options.timeoutMs ?? this.timeoutMs, floorMs),
      maxRetries: options.maxRetries,
      timeoutScope: "call",
    });
    return toJob<R>(answer);
  }

  /**
   * Waits until a job is terminal and returns it, whatever the outcome (`succeeded` with its
   * `result`, `failed` with its `error`, `cancelled`, `expired`). Long-polls (`?wait=`, up to 20 s
   * per request, so a finished job is seen at once); a poll that comes back early is followed by a
   * backoff (0.5 s doubling to 5 s). Throws `WaitTimeoutError` (its `last` is the job) when
   * `timeoutMs` (default 10 minutes) runs out; the job itself keeps going.
   *
   * @example
   * ```ts
   * const submitted = await ep.submitJob({ input: { input: "great product" } });
   * const job = await ep.waitForJob<ClassificationResult>(submitted.id, { timeoutMs: 120_000 });
   * if (job.status === "succeeded") console.log(job.result?.data[0]?.label);
   * else console.error(job.status, job.error?.message);
   * ```
   */
  async waitForJob<R = JobResult>(job: string | Job<R>, options: WaitForJobOptions = {}): Promise<Job<R>> {
    if (typeof job !== "string" && isTerminalJobStatus(job.status)) return job;
    const id = typeof job === "string" ? job : job.id;
    checkJobId(id);
    const longPoll = options.longPollSeconds ?? MAX_LONG_POLL_SECONDS;
    if (!(Number.isInteger(longPoll) && longPoll >= 1 && longPoll <= MAX_LONG_POLL_SECONDS)) {
      throw new ConfigurationError(
        `longPollSeconds must be a whole number from 1 to ${MAX_LONG_POLL_SECONDS}, got ${longPoll}.`,
      );
    }
    const timeoutMs = checkWaitTimeout(options.timeoutMs ?? DEFAULT_JOB_WAIT_MS);
    const deadline = Date.now() + timeoutMs;
    let early = 0;
    for (;;) {
      const remainingMs = deadline - Date.now();
      const wait = Math.min(longPoll, Math.floor(remainingMs / 1000));
      const started = Date.now();
      const current = await this.getJob<R>(id, {
        waitSeconds: wait >= 1 ? wait : undefined,
        signal: options.signal,
        maxRetries: options.maxRetries,
      });
      if (isTerminalJobStatus(current.status)) return current;
      const now = Date.now();
      if (now >= deadline) {
        throw new WaitTimeoutError({
          message: `Job ${id} was still ${current.status} after ${timeoutMs} ms; it keeps running (waitForJob again, or cancelJob).`,
          last: current,
        });
      }
      // A poll the server held for its whole wait may follow at once; one that came back early may not.
      const held = wait >= 1 && now - started >= wait * 1000 - 1000;
      if (held) {
        early = 0;
        continue;
      }
      const delay = Math.min(backoffDelay(early, POLL_BACKOFF, Math.random), deadline - now);
      early++;
      await defaultSleep(delay, options.signal);
    }
  }

  /**
   * Cancels a job that is still `queued` or `waiting` and returns it (`cancelled`). A job already
   * running or finished throws `JobNotCancellableError`.
   *
   * @example
   * ```ts
   * const cancelled = await ep.cancelJob("job_123");
   * console.log(cancelled.status); // cancelled
   * ```
   */
  async cancelJob<R = JobResult>(id: string, options: CallOptions = {}): Promise<Job<R>> {
    checkJobId(id);
    const answer = await this.http.json<unknown>({
      method: "DELETE",
      path: `${this.path}/jobs/${encodeURIComponent(id)}`,
      token: this.apiKey,
      signal: options.signal,
      timeoutMs: options.timeoutMs,
      maxRetries: options.maxRetries,
      timeoutScope: "call",
    });
    return toJob<R>(answer);
  }

  /**
   * One page of the workload's jobs, newest first, optionally only those in `status`. Pass
   * `nextCursor` back as `cursor` for the next page, or use {@link Endpoint.listAllJobs}.
   *
   * @example
   * ```ts
   * const page = await ep.listJobs({ status: "failed", limit: 20 });
   * for (const job of page.data) console.log(job.id, job.error?.code);
   * ```
   */
  async listJobs(options: ListJobsOptions = {}): Promise<Page<Job>> {
    const answer = await this.http.json<unknown>({
      method: "GET",
      path: `${this.path}/jobs`,
      query: { status: options.status, limit: options.limit, cursor: options.cursor },
      token: this.apiKey,
      signal: options.signal,
      timeoutMs: options.timeoutMs,
      maxRetries: options.maxRetries,
      timeoutScope: "call",
    });
    return toJobPage(answer);
  }

  /**
   * Every job of the workload (optionally of one `status`), fetching pages lazily as the loop advances.
   *
   * @example
   * ```ts
   * for await (const job of ep.listAllJobs({ status: "succeeded" })) console.log(job.id, job.finishedAt);
   * ```
   */
  async *listAllJobs(options: Omit<ListJobsOptions, "cursor"> = {}): AsyncGenerator<Job, void, undefined> {
    let cursor: string | undefined;
    do {
      const page = await this.listJobs({ ...options, cursor });
      yield* page.data;
      cursor = page.nextCursor;
    } while (cursor !== undefined);
  }

  /**
   * Classifies one text or a list: submits a classification job and waits for it (there is no
   * synchronous route). Entries come back in input order. Throws `JobFailedError` when the job
   * fails, is cancelled or expires, `WaitTimeoutError` after `timeoutMs` (default 10 minutes).
   *
   * @example
   * ```ts
   * const out = await ep.classify({ input: ["great product", "never again"] });
   * for (const c of out.data) console.log(c.index, c.label, c.probs);
   * ```
   */
  async classify(options: ClassifyOptions): Promise<ClassificationResult> {
    return this.jobs.classify(options);
  }

  /**
   * Scores one text, a list, or a conversation with a reward model: submits a reward job and waits
   * for it. `reward` is a number (sequence reward) or a list (per-token rewards). Throws like
   * {@link Endpoint.classify}.
   *
   * @example
   * ```ts
   * const out = await ep.reward({ messages: [{ role: "user", content: "2+2?" }, { role: "assistant", content: "4" }] });
   * console.log(out.data[0]?.reward);
   * ```
   */
  async reward(options: RewardOptions): Promise<RewardResult> {
    return this.jobs.reward(options);
  }

  /** @internal Submits `input`, waits within one deadline, and returns the succeeded job's result. */
  async runJob<R>(input: Record<string, unknown>, options: RunJobOptions, read: (wire: unknown) => R): Promise<R> {
    const timeoutMs = checkWaitTimeout(options.timeoutMs ?? DEFAULT_JOB_WAIT_MS);
    const deadline = Date.now() + timeoutMs;
    const submitted = await this.submitJob({
      input,
      idempotencyKey: options.idempotencyKey,
      webhook: options.webhook,
      maxQueueSeconds: options.maxQueueSeconds,
      signal: options.signal,
      maxRetries: options.maxRetries,
      timeoutMs: Math.min(this.timeoutMs, timeoutMs),
    });
    const job = await this.waitForJob(submitted, {
      signal: options.signal,
      maxRetries: options.maxRetries,
      longPollSeconds: options.longPollSeconds,
      timeoutMs: Math.max(1, deadline - Date.now()),
    });
    if (job.status !== "succeeded" || job.raw.result === null || job.raw.result === undefined) {
      throw new JobFailedError({
        code: job.error?.code || `job_${job.status}`,
        message: job.error?.message || `Job ${job.id} ended ${job.status}${job.status === "expired" ? ": no replica was ready within its max_queue_seconds" : ""}.`,
        job,
      });
    }
    return read(job.raw.result);
  }

  private promptBody(options: GenerateTextOptions): Record<string, unknown> {
    if (typeof options?.prompt !== "string") {
      throw invalid("prompt", options?.prompt, 'a string, e.g. { prompt: "Hola" }');
    }
    return {
      messages: [{ role: "user", content: options.prompt }],
      ...bodyFields(options, options.extraBody),
    };
  }

  private chatBody(options: ChatOptions): Record<string, unknown> {
    if (!Array.isArray(options?.messages) || options.messages.length === 0) {
      throw invalid(
        "messages",
        options?.messages,
        'a non-empty array such as [{ role: "user", content: "Hi" }]',
      );
    }
    return { messages: options.messages, ...bodyFields(options, options.extraBody) };
  }

  private streaming(
    body: Record<string, unknown>,
    includeUsage: boolean | undefined,
  ): Record<string, unknown> {
    return {
      ...body,
      stream: true,
      ...(includeUsage === false ? {} : { stream_options: { include_usage: true } }),
    };
  }

  private stream(body: Record<string, unknown>, options: DataCallOptions): TextStream {
    // Built now so option errors surface at the call, not at the first iteration.
    const request = this.request("chat/completions", body, options);
    return new TextStream(() => this.http.response(request), options.signal);
  }

  private request(route: string, body: Record<string, unknown>, options: DataCallOptions): HttpRequest {
    // Checked against this call's timeout, which may be shorter than the client's.
    const timeoutMs = options.timeoutMs ?? this.timeoutMs;
    const scaleUp = checkScaleUp(options.scaleUpTimeoutSeconds ?? this.scaleUpTimeoutSeconds, timeoutMs);
    return {
      method: "POST",
      path: `${this.path}/${route}`,
      body,
      token: this.apiKey,
      headers: scaleUp === undefined ? undefined : { "x-scale-up-timeout": String(scaleUp) },
      signal: options.signal,
      timeoutMs: options.timeoutMs,
      maxRetries: options.maxRetries,
      timeoutScope: "call",
      scaleUpBudgetMs: scaleUp === undefined ? timeoutMs : scaleUp * 1000,
    };
  }
}

/** A valid `scaleUpTimeoutSeconds`, or a ConfigurationError saying why not. */
function checkScaleUp(value: number | undefined, timeoutMs: number): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0) {
    throw new ConfigurationError(`scaleUpTimeoutSeconds must be a number of seconds >= 0, got ${value}.`);
  }
  // The gateway reads whole or decimal seconds; milliseconds are the finest useful unit.
  const seconds = Math.round(value * 1000) / 1000;
  if (seconds * 1000 >= timeoutMs) {
    throw new ConfigurationError(
      `scaleUpTimeoutSeconds (${seconds} s) must be below the call's timeoutMs (${timeoutMs} ms), or the call ` +
        "would time out while the gateway waits for a replica: raise timeoutMs.",
    );
  }
  return seconds;
}

function invalid(path: string, received: unknown, expected: string): ValidationError {
  return new ValidationError({
    code: "validation_failed",
    message: `${path} must be ${expected}.`,
    details: [{ path, message: `${path} is invalid`, received, expected }],
  });
}

/**
 * The helpers of `endpoint.jobs` that submit one job and wait for its result, typed per task:
 * `rerank()` (the job-based twin of the synchronous `endpoint.rerank()`), `classify()`, `reward()`.
 *
 * @example
 * ```ts
 * const documents = ["Refunds within 30 days.", "Shipping is free."];
 * const ranked = await ep.jobs.rerank({ query: "how do refunds work?", documents });
 * console.log(documents[ranked.results[0]?.index ?? 0]);
 * ```
 */
export class EndpointJobs {
  /** @internal Built by the endpoint. */
  constructor(private readonly endpoint: Endpoint) {}

  /**
   * Reranks `documents` against `query` through a reranker job; `results` are sorted by
   * `relevanceScore`, highest first.
   *
   * @example
   * ```ts
   * const ranked = await ep.jobs.rerank({ query: "refund policy", documents, topN: 3, timeoutMs: 300_000 });
   * ```
   */
  async rerank(options: JobRerankOptions): Promise<RerankResult> {
    return this.endpoint.runJob(rerankInput(options), options, toRerankResult);
  }

  /**
   * Classifies one text or a list through a classification job; the same as `endpoint.classify()`.
   *
   * @example
   * ```ts
   * const out = await ep.jobs.classify({ input: "great product" });
   * ```
   */
  async classify(options: ClassifyOptions): Promise<ClassificationResult> {
    return this.endpoint.runJob({ input: textsInput(options?.input) }, options, toClassificationResult);
  }

  /**
   * Scores texts or a conversation through a reward job; the same as `endpoint.reward()`.
   *
   * @example
   * ```ts
   * const out = await ep.jobs.reward({ input: ["The answer is 4.", "The answer is 5."] });
   * ```
   */
  async reward(options: RewardOptions): Promise<RewardResult> {
    const input =
      options?.messages !== undefined
        ? { messages: messagesInput(options.messages) }
        : { input: textsInput(options?.input) };
    return this.endpoint.runJob(input, options, toRewardResult);
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

function isTexts(value: unknown): value is string | string[] {
  return typeof value === "string" || (Array.isArray(value) && value.every((item) => typeof item === "string"));
}

function textsInput(input: unknown): string | string[] {
  if (!isTexts(input)) throw invalid("input", input, 'a string or an array of strings, e.g. ["great product"]');
  return input;
}

function messagesInput(messages: unknown): ChatMessage[] {
  if (!Array.isArray(messages) || messages.length === 0) {
    throw invalid("messages", messages, 'a non-empty array such as [{ role: "user", content: "2+2?" }]');
  }
  return messages as ChatMessage[];
}

function rerankInput(options: { query: unknown; documents: unknown; topN?: unknown }): Record<string, unknown> {
  if (typeof options?.query !== "string") throw invalid("query", options?.query, 'a string, e.g. "refund policy"');
  const documents = options.documents;
  if (!Array.isArray(documents) || !documents.every((d) => typeof d === "string")) {
    throw invalid("documents", documents, 'an array of strings, e.g. ["Refunds within 30 days."]');
  }
  const topN = options.topN;
  if (topN !== undefined && !(Number.isInteger(topN) && (topN as number) >= 1)) {
    throw invalid("top_n", topN, "a whole number >= 1");
  }
  return { query: options.query, documents, ...(topN === undefined ? {} : { top_n: topN }) };
}

function checkJobId(id: unknown): void {
  if (typeof id !== "string" || id.trim() === "") {
    throw invalid("id", id, 'the job id returned by submitJob(), e.g. "job_..."');
  }
}

/** The contract's Idempotency-Key: 1 to 255 printable ASCII characters. */
const IDEMPOTENCY_KEY = /^[\x20-\x7e]{1,255}$/;

function checkIdempotencyKey(key: unknown): void {
  if (typeof key !== "string" || !IDEMPOTENCY_KEY.test(key)) {
    throw invalid("idempotency_key", key, "1 to 255 printable ASCII characters");
  }
}

function checkWaitTimeout(value: number): number {
  if (typeof value !== "number" || !Number.isFinite(value) || value <= 0) {
    throw new ConfigurationError(`timeoutMs must be a positive number of milliseconds, got ${value}.`);
  }
  return value;
}
