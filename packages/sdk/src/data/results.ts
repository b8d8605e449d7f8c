import { InferenceKeyError } from "../errors";
import { isRecord } from "../http/http-client";
import type { OpenLiteral } from "../spec";

/**
 * The OpenAI `usage` object as servers send it. Embeddings report no `completion_tokens`.
 *
 * @example
 * ```ts
 * const wire: UsageWire = { prompt_tokens: 12, completion_tokens: 30, total_tokens: 42 };
 * ```
 */
export interface UsageWire {
  prompt_tokens?: number | undefined;
  completion_tokens?: number | undefined;
  total_tokens?: number | undefined;
}

/**
 * One chat message, in OpenAI's wire form (it is sent as given). `content` is text, or content
 * parts for multimodal models; `tool_call_id` and `tool_calls` carry tool use.
 *
 * @example
 * ```ts
 * const history: ChatMessage[] = [
 *   { role: "system", content: "You are a concise banking assistant." },
 *   { role: "user", content: "What is my balance?" },
 * ];
 * const reply = await ep.chat({ messages: history });
 * history.push(reply.message);
 * ```
 */
export interface ChatMessage {
  role: OpenLiteral<"system" | "developer" | "user" | "assistant" | "tool">;
  content: string | ChatContentPart[] | null;
  name?: string | undefined;
  tool_call_id?: string | undefined;
  tool_calls?: unknown[] | undefined;
}

/**
 * A part of a multimodal message's `content`, e.g. `{ type: "text", text }` or
 * `{ type: "image_url", image_url: { url } }`, sent as given.
 *
 * @example
 * ```ts
 * const parts: ChatContentPart[] = [
 *   { type: "text", text: "What is in this picture?" },
 *   { type: "image_url", image_url: { url: "https://example.com/cat.png" } },
 * ];
 * ```
 */
export interface ChatContentPart {
  type: OpenLiteral<"text" | "image_url" | "input_audio">;
  [field: string]: unknown;
}

/**
 * An OpenAI chat completion (or one streamed chunk of one) as servers send it; only the fields
 * the SDK reads are typed. It is what `raw` of a result holds.
 *
 * @example
 * ```ts
 * const out = await ep.generateText({ prompt: "Hi", extraBody: { logprobs: true } });
 * const raw: ChatCompletionWire = out.raw;
 * console.log(raw.choices?.[0]);
 * ```
 */
export interface ChatCompletionWire {
  id?: string | undefined;
  object?: string | undefined;
  created?: number | undefined;
  model?: string | undefined;
  choices?:
    | Array<{
        index?: number | undefined;
        message?: Partial<ChatMessage> | undefined;
        delta?: Partial<ChatMessage> | undefined;
        /** Text completions (`/completions`) answer with `text` instead of `message`. */
        text?: string | undefined;
        finish_reason?: string | null | undefined;
        [field: string]: unknown;
      }>
    | undefined;
  usage?: UsageWire | null | undefined;
  [field: string]: unknown;
}

/**
 * An OpenAI embeddings answer as servers send it. It is what `raw` of {@link Embeddings} holds.
 *
 * @example
 * ```ts
 * const emb = await ep.embed({ input: "invoice #42" });
 * const raw: EmbeddingsWire = emb.raw;
 * console.log(raw.data?.length);
 * ```
 */
export interface EmbeddingsWire {
  object?: string | undefined;
  model?: string | undefined;
  data?:
    | Array<{ index?: number | undefined; embedding?: number[] | undefined; object?: string | undefined }>
    | undefined;
  usage?: UsageWire | null | undefined;
  [field: string]: unknown;
}

/**
 * Token counts of a data-plane call. `totalTokens` is the server's `total_tokens`, or the sum of
 * the other two when it sends none; embeddings report `completionTokens: 0`.
 *
 * @example
 * ```ts
 * const out = await ep.generateText({ prompt: "Hi" });
 * if (out.usage) console.log(out.usage.promptTokens, out.usage.completionTokens, out.usage.totalTokens);
 * ```
 */
export interface TokenUsage {
  promptTokens: number;
  completionTokens: number;
  totalTokens: number;
}

/**
 * Why generation stopped: `stop` (a stop sequence or the end of the answer), `length`
 * (`maxTokens` reached), `tool_calls`, `content_filter`, or a backend's own reason.
 *
 * @example
 * ```ts
 * const out = await ep.generateText({ prompt: "Write an essay", maxTokens: 50 });
 * const reason: FinishReason | undefined = out.finishReason;
 * if (reason === "length") console.warn("truncated: raise maxTokens");
 * ```
 */
export type FinishReason = OpenLiteral<"stop" | "length" | "tool_calls" | "content_filter">;

/**
 * What `generateText()` returns (and `stream.collect()`): the generated `text`, the `model` that
 * answered, token `usage`, the `finishReason`, the completion `id` and the `raw` answer.
 * `usage` is undefined only when the server sent none (OpenAI-compatible servers do for
 * non-streamed answers; a stream reports it when asked with `includeUsage`, the default).
 *
 * @example
 * ```ts
 * const out: TextGeneration = await ep.generateText({ prompt: "Hola, ¿cuál es mi saldo?", maxTokens: 300 });
 * console.log(out.text, out.model, out.usage?.totalTokens, out.finishReason);
 * ```
 */
export interface TextGeneration {
  text: string;
  model: string;
  usage: TokenUsage | undefined;
  finishReason: FinishReason | undefined;
  /** The server's completion id (`chatcmpl-...`); empty when it sent none. */
  id: string;
  /** The answer as received, for fields the SDK does not map (logprobs, tool calls, ...). */
  raw: ChatCompletionWire;
}

/**
 * What `chat()` returns: a {@link TextGeneration} plus the assistant `message`, ready to append
 * to the conversation.
 *
 * @example
 * ```ts
 * const reply: ChatCompletion = await ep.chat({ messages: history });
 * history.push(reply.message);
 * console.log(reply.text);
 * ```
 */
export interface ChatCompletion extends TextGeneration {
  message: ChatMessage;
}

/**
 * What `embed()` returns: one vector per input, in input order, the `model` that answered,
 * token `usage` (`completionTokens` is 0) and the `raw` answer.
 *
 * @example
 * ```ts
 * const emb: Embeddings = await ep.embed({ input: ["invoice #42", "refund policy"] });
 * console.log(emb.embeddings.length, "vectors of", emb.embeddings[0]?.length, "dimensions", emb.model);
 * ```
 */
export interface Embeddings {
  embeddings: number[][];
  model: string;
  usage: TokenUsage | undefined;
  raw: EmbeddingsWire;
}

function count(value: unknown): number | undefined {
  return typeof value === "number" && Number.isFinite(value) ? value : undefined;
}

/** `usage` as {@link TokenUsage}; undefined when absent or not an object. */
export function toTokenUsage(wire: unknown): TokenUsage | undefined {
  if (!isRecord(wire)) return undefined;
  const promptTokens = count(wire.prompt_tokens) ?? 0;
  const completionTokens = count(wire.completion_tokens) ?? 0;
  return {
    promptTokens,
    completionTokens,
    totalTokens: count(wire.total_tokens) ?? promptTokens + completionTokens,
  };
}

function objectBody(body: unknown, what: string): Record<string, unknown> {
  if (isRecord(body)) return body;
  throw new InferenceKeyError({
    code: "invalid_response",
    message: `The endpoint answered ${what} with ${Array.isArray(body) ? "an array" : typeof body}, not a JSON object.`,
  });
}

function text(value: unknown): string {
  return typeof value === "string" ? value : "";
}

/** A chat (or text) completion as {@link TextGeneration}, read defensively from the first choice. */
export function toTextGeneration(body: unknown): TextGeneration {
  const raw = objectBody(body, "a completion") as ChatCompletionWire;
  const choice = Array.isArray(raw.choices) && isRecord(raw.choices[0]) ? raw.choices[0] : undefined;
  const message = isRecord(choice?.message) ? choice.message : undefined;
  const finishReason = choice?.finish_reason;
  return {
    text: typeof message?.content === "string" ? message.content : text(choice?.text),
    model: text(raw.model),
    usage: toTokenUsage(raw.usage),
    finishReason: typeof finishReason === "string" ? finishReason : undefined,
    id: text(raw.id),
    raw,
  };
}

/** A chat completion as {@link ChatCompletion}: the assistant message keeps its tool calls. */
export function toChatCompletion(body: unknown): ChatCompletion {
  const generation = toTextGeneration(body);
  const choice = generation.raw.choices?.[0];
  const wire = isRecord(choice?.message) ? choice.message : {};
  const message: ChatMessage = {
    role: typeof wire.role === "string" ? wire.role : "assistant",
    content: generation.text,
    ...(Array.isArray(wire.tool_calls) && wire.tool_calls.length > 0 ? { tool_calls: wire.tool_calls } : {}),
  };
  return { ...generation, message };
}

/** An embeddings answer as {@link Embeddings}, vectors ordered by their `index`. */
export function toEmbeddings(body: unknown): Embeddings {
  const raw = objectBody(body, "an embeddings request") as EmbeddingsWire;
  const items = (Array.isArray(raw.data) ? raw.data : []).filter(isRecord);
  // Servers answer in input order, but `index` is the contract.
  const ordered = items
    .map((item, position) => ({ item, at: count(item.index) ?? position }))
    .sort((a, b) => a.at - b.at);
  const embeddings = ordered.map(({ item }) => {
    if (Array.isArray(item.embedding)) return item.embedding.map(Number);
    throw new InferenceKeyError({
      code: "invalid_response",
      message:
        "The endpoint answered embeddings that are not arrays of numbers (base64?); do not set encoding_format.",
    });
  });
  return { embeddings, model: text(raw.model), usage: toTokenUsage(raw.usage), raw };
}
