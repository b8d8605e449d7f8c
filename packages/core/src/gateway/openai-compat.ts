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
import { MAX_JSON_DEPTH } from "../http/json-body";
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

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const COLON = 0x3a;
const COMMA = 0x2c;

function isSpace(byte: number | undefined): boolean {
  return byte === 0x20 || byte === 0x0a || byte === 0x0d || byte === 0x09;
}

function skipSpace(bytes: Uint8Array, at: number): number {
  let i = at;
  while (isSpace(bytes[i])) i++;
  return i;
}

/** Index after the closing quote of the string opening at `start`, or -1. Linear: each quote looks back only over the backslashes before it. */
function stringEnd(bytes: Uint8Array, start: number): number {
  let from = start + 1;
  for (;;) {
    const quote = bytes.indexOf(QUOTE, from);
    if (quote === -1) return -1;
    let slashes = 0;
    for (let j = quote - 1; j > start && bytes[j] === BACKSLASH; j--) slashes++;
    if (slashes % 2 === 0) return quote + 1;
    from = quote + 1;
  }
}

/** Index after the value starting at `start` (inside the top-level object), -1 when malformed, "deep" past the depth limit. */
function valueEnd(bytes: Uint8Array, start: number): number | "deep" {
  const first = bytes[start];
  if (first === QUOTE) return stringEnd(bytes, start);
  if (first === OPEN_BRACE || first === OPEN_BRACKET) {
    // The top-level object is level 1.
    let depth = 1;
    for (let i = start; i < bytes.length; i++) {
      const byte = bytes[i];
      if (byte === QUOTE) {
        const end = stringEnd(bytes, i);
        if (end === -1) return -1;
        i = end - 1;
      } else if (byte === OPEN_BRACE || byte === OPEN_BRACKET) {
        if (++depth > MAX_JSON_DEPTH) return "deep";
      } else if (byte === CLOSE_BRACE || byte === CLOSE_BRACKET) {
        if (--depth === 1) return i + 1;
      }
    }
    return -1;
  }
  let i = start;
  while (i < bytes.length && bytes[i] !== COMMA && bytes[i] !== CLOSE_BRACE && !isSpace(bytes[i])) i++;
  return i === start ? -1 : i;
}

interface Member {
  key: string;
  /** Where the member's key starts and its value ends: the member's own bytes, reused as they are. */
  start: number;
  valueStart: number;
  end: number;
}

const decoder = new TextDecoder();

/**
 * The members of a top-level JSON object, found in one pass over the bytes without parsing the
 * values (a chat body carries megabytes of messages and images the gateway never needs to read).
 * Undefined when the body is not a JSON object; "deep" when it nests past MAX_JSON_DEPTH.
 */
function topLevelMembers(bytes: Uint8Array): Member[] | "deep" | undefined {
  let i = skipSpace(bytes, 0);
  if (bytes[i] !== OPEN_BRACE) return undefined;
  i = skipSpace(bytes, i + 1);
  const members: Member[] = [];
  if (bytes[i] === CLOSE_BRACE) return skipSpace(bytes, i + 1) === bytes.length ? members : undefined;
  for (;;) {
    if (bytes[i] !== QUOTE) return undefined;
    const start = i;
    const keyEnd = stringEnd(bytes, i);
    if (keyEnd === -1) return undefined;
    i = skipSpace(bytes, keyEnd);
    if (bytes[i] !== COLON) return undefined;
    const valueStart = skipSpace(bytes, i + 1);
    const end = valueEnd(bytes, valueStart);
    if (end === "deep") return "deep";
    if (end === -1) return undefined;
    let key: unknown;
    try {
      key = JSON.parse(decoder.decode(bytes.subarray(start, keyEnd)));
    } catch {
      return undefined;
    }
    members.push({ key: key as string, start, valueStart, end });
    i = skipSpace(bytes, end);
    if (bytes[i] === COMMA) {
      i = skipSpace(bytes, i + 1);
      continue;
    }
    if (bytes[i] === CLOSE_BRACE) return skipSpace(bytes, i + 1) === bytes.length ? members : undefined;
    return undefined;
  }
}

/** The value of the last member named `key` (JSON.parse's rule for repeated keys); undefined when absent or malformed. */
function memberValue(bytes: Uint8Array, members: readonly Member[], key: string): unknown {
  const member = members.findLast((m) => m.key === key);
  if (member === undefined) return undefined;
  try {
    return JSON.parse(decoder.decode(bytes.subarray(member.valueStart, member.end)));
  } catch {
    return undefined;
  }
}

const encoder = new TextEncoder();

/**
 * The body the replica gets. Only top-level `model` and `stream_options` may change; every other
 * member goes on as the very bytes received, and the values the gateway does not need are never
 * parsed. Not a JSON object: passed on unchanged (the replica answers 400 as it would to the
 * client), except on rerank, which the gateway checks itself. Nothing to change: the same bytes.
 */
export function rewriteRequestBody(bytes: Uint8Array, route: string, record: WorkloadRecord): RewrittenBody {
  const unchanged: RewrittenBody = { bytes, dropUsageChunk: false, parsed: undefined };
  if (!MODEL_ROUTES.has(route)) return unchanged;
  const members = bytes.byteLength === 0 ? undefined : topLevelMembers(bytes);
  if (members === "deep") {
    throw new GatewayError(400, "invalid_request_body", `The request body nests objects and arrays deeper than ${MAX_JSON_DEPTH} levels.`);
  }
  if (members === undefined) {
    if (route === "rerank") throw rerankBodyError("The request body of /v1/rerank must be a JSON object.");
    return unchanged;
  }
  const parsed: Record<string, unknown> = {};
  for (const key of route === "rerank" ? ["model", "query", "documents", "top_n"] : ["model", "stream", "stream_options"]) {
    const value = memberValue(bytes, members, key);
    if (value !== undefined) parsed[key] = value;
  }
  if (route === "rerank") checkRerankBody(parsed);
  const replaced: Record<string, unknown> = {};
  // Any other name goes to the replica as sent: it may serve aliases (--served-model-name), or it refuses.
  const model = parsed.model;
  if ((model === undefined || model === null || model === record.slug) && model !== record.spec.model) replaced.model = record.spec.model;
  let dropUsageChunk = false;
  if (STREAMING_ROUTES.has(route) && parsed.stream === true) {
    const options = parsed.stream_options;
    const given = options !== null && typeof options === "object" && !Array.isArray(options) ? (options as Record<string, unknown>) : {};
    if (given.include_usage !== true) {
      replaced.stream_options = { ...given, include_usage: true };
      dropUsageChunk = true;
    }
  }
  Object.assign(parsed, replaced);
  const changes = Object.keys(replaced);
  if (changes.length === 0) return { bytes, dropUsageChunk, parsed };
  const parts: Uint8Array[] = [encoder.encode("{")];
  let first = true;
  for (const member of members) {
    if (changes.includes(member.key)) continue;
    if (!first) parts.push(encoder.encode(","));
    parts.push(bytes.subarray(member.start, member.end));
    first = false;
  }
  for (const key of changes) {
    parts.push(encoder.encode(`${first ? "" : ","}${JSON.stringify(key)}:${JSON.stringify(replaced[key])}`));
    first = false;
  }
  parts.push(encoder.encode("}"));
  return { bytes: Buffer.concat(parts), dropUsageChunk, parsed };
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
