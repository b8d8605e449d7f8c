import { snakeKeys } from "../casing";
import { ConfigurationError, ValidationError } from "../errors";
import type { CallOptions, HttpClient, HttpRequest } from "../http/http-client";
import { pathOf } from "../resources/paths";
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
  apiKey: string | undefined;
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

  /** @internal Built by `DataClient.endpoint()`. */
  constructor(
    private readonly http: HttpClient,
    private readonly timeoutMs: number,
    project: string,
    slug: string,
    options: EndpointOptions,
  ) {
    if (typeof slug !== "string" || slug.trim() === "") {
      throw new ConfigurationError(
        'endpoint() needs the workload slug, e.g. data.endpoint("support-bot", { apiKey }).',
      );
    }
    const apiKey = typeof options?.apiKey === "string" ? options.apiKey.trim() : "";
    if (apiKey === "") {
      throw new ConfigurationError(
        `endpoint("${slug}") needs the workload's ik_live_ data key in { apiKey } (got ${
          options?.apiKey === undefined
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
    this.scaleUpTimeoutSeconds = checkScaleUp(options.scaleUpTimeoutSeconds, timeoutMs);
    this.path = pathOf`/endpoint/${project}/${slug}/v1`;
    this.baseUrl = `${http.baseUrl}${this.path}`;
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
