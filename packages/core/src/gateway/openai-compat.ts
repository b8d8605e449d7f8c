/**
 * What the gateway changes in OpenAI-style JSON exchanges so every client works the same against
 * every backend (docs/gateway.md, "Model names, usage and rerank"):
 * - `model`: the workload's slug (what the vendor SDK sends) or its spec's model are both accepted;
 *   the replica is sent the name it serves (the spec's model; vLLM answers 404 for any other).
 * - streamed generations always ask the replica for usage (`stream_options.include_usage`), so they
 *   are metered; when the client did not ask, the usage-only chunk (empty `choices`) is taken out of
 *   its stream (clients that read `choices[0]` of every chunk fail on it).
 * - `/v1/rerank`: vLLM's and sglang's answers normalised to one shape, best first.
 */
import { jsonNestsDeeperThan, MAX_JSON_DEPTH } from "../http/json-body";
import type { WorkloadRecord } from "../workloads";
import type { ChunkSource } from "./exchange";
import { GatewayError } from "./errors";

/** Routes whose JSON request body names a `model` and may be rewritten. */
const MODEL_ROUTES = new Set(["chat/completions", "completions", "embeddings", "rerank"]);
/** Routes whose stream may carry a usage-only chunk. */
const STREAMING_ROUTES = new Set(["chat/completions", "completions"]);

export interface RewrittenBody {
  bytes: Uint8Array;
  /** The client did not ask for the usage chunk the replica was asked for: take it out of the stream. */
  dropUsageChunk: boolean;
  /** The parsed request (rerank reads `top_n` and `documents` back when normalising the answer). */
  parsed: Record<string, unknown> | undefined;
}

/** True when this route's JSON body is read whole and rewritten before it goes to a replica. */
export function rewritesBody(route: string): boolean {
  return MODEL_ROUTES.has(route);
}

/**
 * The body the replica gets. Not a JSON object: passed on unchanged (the replica answers 400 as it
 * would to the client). Nothing to change: the very bytes received.
 */
export function rewriteRequestBody(bytes: Uint8Array, route: string, record: WorkloadRecord): RewrittenBody {
  const unchanged: RewrittenBody = { bytes, dropUsageChunk: false, parsed: undefined };
  if (!MODEL_ROUTES.has(route) || bytes.byteLength === 0) return unchanged;
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("utf8");
  if (jsonNestsDeeperThan(text, MAX_JSON_DEPTH)) {
    throw new GatewayError(400, "invalid_request_body", `The request body nests objects and arrays deeper than ${MAX_JSON_DEPTH} levels.`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
    if (route === "rerank") throw rerankBodyError("The request body of /v1/rerank must be a JSON object.");
    return unchanged;
  }
  const body = parsed as Record<string, unknown>;
  if (route === "rerank") checkRerankBody(body);
  let changed = false;
  // Any other name goes to the replica as sent: it may serve aliases (--served-model-name), or it refuses.
  if (body.model === undefined || body.model === null || body.model === record.slug) {
    if (body.model !== record.spec.model) {
      body.model = record.spec.model;
      changed = true;
    }
  }
  let dropUsageChunk = false;
  if (STREAMING_ROUTES.has(route) && body.stream === true) {
    const options = body.stream_options;
    const asked = options !== null && typeof options === "object" && !Array.isArray(options) && (options as Record<string, unknown>).include_usage === true;
    if (!asked) {
      body.stream_options = { ...(options !== null && typeof options === "object" && !Array.isArray(options) ? options : {}), include_usage: true };
      dropUsageChunk = true;
      changed = true;
    }
  }
  return { bytes: changed ? new TextEncoder().encode(JSON.stringify(body)) : bytes, dropUsageChunk, parsed: body };
}

function rerankBodyError(message: string): GatewayError {
  return new GatewayError(400, "invalid_request_body", `${message} It takes {"query": str, "documents": [str, ...], "top_n"?: int, "model"?: str}.`);
}

/** What every reranking backend needs: refused here, so a malformed call never wakes a workload. */
function checkRerankBody(body: Record<string, unknown>): void {
  if (typeof body.query !== "string" || body.query === "") throw rerankBodyError("`query` must be a non-empty string.");
  const documents = body.documents;
  if (!Array.isArray(documents) || documents.length === 0) throw rerankBodyError("`documents` must be a non-empty list.");
  const textual = (d: unknown) => typeof d === "string" || (d !== null && typeof d === "object" && typeof (d as { text?: unknown }).text === "string");
  if (!documents.every(textual)) throw rerankBodyError("Every document must be a string (or {\"text\": str}).");
  const topN = body.top_n;
  if (topN !== undefined && topN !== null && !(typeof topN === "number" && Number.isInteger(topN) && topN >= 1)) {
    throw rerankBodyError("`top_n` must be a whole number of at least 1.");
  }
}

/** A usage-only chunk: `"choices": []` beside a `usage` object (what include_usage adds last). */
function isUsageOnlyEvent(event: string): boolean {
  if (!event.includes('"usage"') || !event.includes('"choices"')) return false;
  const data = event
    .split("\n")
    .filter((line) => line.startsWith("data:"))
    .map((line) => line.slice(5).trimStart())
    .join("\n");
  if (data === "" || data === "[DONE]") return false;
  try {
    const chunk = JSON.parse(data) as { choices?: unknown; usage?: unknown };
    return Array.isArray(chunk.choices) && chunk.choices.length === 0 && chunk.usage !== null && typeof chunk.usage === "object";
  } catch {
    return false;
  }
}

/** Longest event held back while looking for its end; a longer one passes through unexamined. */
const MAX_HELD_EVENT_CHARS = 1024 * 1024;

/**
 * The SSE stream without usage-only events. Events pass on as soon as they are complete (a blank
 * line ends one); only a partial event at a chunk's end waits for the rest.
 */
export function withoutUsageOnlyChunks(source: ChunkSource): ChunkSource {
  const decoder = new TextDecoder();
  const encoder = new TextEncoder();
  let pending = "";
  let done = false;
  return {
    async next() {
      for (;;) {
        if (done) return undefined;
        const chunk = await source.next();
        if (chunk === undefined) {
          done = true;
          const rest = pending + decoder.decode();
          pending = "";
          return rest === "" ? undefined : encoder.encode(rest);
        }
        pending += decoder.decode(chunk, { stream: true });
        let out = "";
        for (;;) {
          const match = /\r?\n\r?\n/.exec(pending);
          if (match === null) break;
          const end = match.index + match[0].length;
          const event = pending.slice(0, end);
          pending = pending.slice(end);
          if (!isUsageOnlyEvent(event)) out += event;
        }
        if (pending.length > MAX_HELD_EVENT_CHARS) {
          out += pending;
          pending = "";
        }
        if (out !== "") return encoder.encode(out);
      }
    },
    cancel(reason) {
      done = true;
      source.cancel(reason);
    },
  };
}

/** One scored document of the rerank answer. */
export interface RerankResult {
  index: number;
  relevance_score: number;
  document?: { text: string };
}

/** The answer of `/v1/rerank` (docs/api.md): results best first. */
export interface RerankAnswer {
  id: string;
  model: string;
  results: RerankResult[];
  usage: { total_tokens: number };
}

function numberOr(value: unknown, fallback: number): number {
  return typeof value === "number" && Number.isFinite(value) ? value : fallback;
}

/**
 * Normalises a replica's rerank answer: vLLM's `{id, model, usage, results: [{index, document:
 * {text}, relevance_score}]}` or sglang's bare array of `{index, score, document?}`. Sorted by score,
 * cut to `top_n` when the request gave one. Undefined when the answer is neither.
 */
export function normaliseRerank(answer: unknown, request: Record<string, unknown> | undefined, fallback: { id: string; model: string }): RerankAnswer | undefined {
  const list = Array.isArray(answer)
    ? answer
    : answer !== null && typeof answer === "object" && Array.isArray((answer as { results?: unknown }).results)
      ? ((answer as { results: unknown[] }).results)
      : undefined;
  if (list === undefined) return undefined;
  const documents = Array.isArray(request?.documents) ? request.documents : [];
  const results: RerankResult[] = [];
  for (const item of list) {
    if (item === null || typeof item !== "object") return undefined;
    const entry = item as { index?: unknown; relevance_score?: unknown; score?: unknown; document?: unknown };
    const index = entry.index;
    const score = numberOr(entry.relevance_score, numberOr(entry.score, Number.NaN));
    if (typeof index !== "number" || !Number.isInteger(index) || Number.isNaN(score)) return undefined;
    const given = entry.document;
    const text =
      given !== null && typeof given === "object" && typeof (given as { text?: unknown }).text === "string"
        ? (given as { text: string }).text
        : typeof given === "string"
          ? given
          : typeof documents[index] === "string"
            ? (documents[index] as string)
            : undefined;
    results.push({ index, relevance_score: score, ...(text === undefined ? {} : { document: { text } }) });
  }
  results.sort((a, b) => b.relevance_score - a.relevance_score || a.index - b.index);
  const topN = request?.top_n;
  const kept = typeof topN === "number" && Number.isInteger(topN) && topN >= 0 ? results.slice(0, topN) : results;
  const object = Array.isArray(answer) ? {} : (answer as { id?: unknown; model?: unknown; usage?: { total_tokens?: unknown; prompt_tokens?: unknown } });
  const usage = (object as { usage?: { total_tokens?: unknown; prompt_tokens?: unknown } }).usage;
  const totalTokens = numberOr(usage?.total_tokens, numberOr(usage?.prompt_tokens, 0));
  return {
    id: typeof (object as { id?: unknown }).id === "string" ? ((object as { id: string }).id) : fallback.id,
    model: typeof (object as { model?: unknown }).model === "string" ? ((object as { model: string }).model) : fallback.model,
    results: kept,
    usage: { total_tokens: totalTokens },
  };
}
