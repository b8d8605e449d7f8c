/** Token counts found in a response's OpenAI `usage` object. */
export interface TokenUsage {
  promptTokens: number;
  completionTokens: number;
}

const USAGE_KEY = '"usage"';

/**
 * The last `"usage": {...}` object in `text`, read with a bounded scan rather than JSON.parse, so a
 * large body is never parsed on the hot path. Escaped quotes inside strings (`\"usage\"`) do not match.
 */
export function extractUsage(text: string): TokenUsage | undefined {
  let at = text.lastIndexOf(USAGE_KEY);
  while (at !== -1) {
    const usage = usageAt(text, at + USAGE_KEY.length);
    if (usage !== undefined) return usage;
    at = at === 0 ? -1 : text.lastIndexOf(USAGE_KEY, at - 1);
  }
  return undefined;
}

function usageAt(text: string, from: number): TokenUsage | undefined {
  const open = /^\s*:\s*\{/.exec(text.slice(from, from + 64));
  if (open === null) return undefined;
  // The object ends at its matching brace (usage holds small nested objects like prompt_tokens_details).
  const start = from + open[0].length;
  let depth = 1;
  let end = start;
  const limit = Math.min(text.length, start + 4096);
  for (; end < limit && depth > 0; end++) {
    const c = text.charCodeAt(end);
    if (c === 123) depth++;
    else if (c === 125) depth--;
  }
  if (depth !== 0) return undefined;
  const body = text.slice(start, end - 1);
  const prompt = /"prompt_tokens"\s*:\s*(\d+)/.exec(body);
  const completion = /"completion_tokens"\s*:\s*(\d+)/.exec(body);
  if (prompt === null && completion === null) return undefined;
  return { promptTokens: Number(prompt?.[1] ?? 0), completionTokens: Number(completion?.[1] ?? 0) };
}

/** JSON answers keep their usage near the end: this much of the tail is read for it. */
export const JSON_TAIL_CHARS = 16 * 1024;
const MAX_SSE_LINE_BYTES = 1024 * 1024;
const USAGE_KEY_BYTES = Buffer.from(USAGE_KEY);
const NEWLINE = 0x0a;

/**
 * Watches response chunks as they pass (nothing is held back or copied beyond a bounded window)
 * and reports the token usage at the end. SSE: complete lines are searched as bytes and only those
 * holding `"usage"` are decoded and read, the last usage seen winning (vLLM's final usage chunk, or
 * cumulative continuous stats); a line break is ASCII, so complete lines never split a character.
 * JSON: usage sits near the end of OpenAI responses, so only the last 16 KiB are kept.
 */
export class UsageScanner {
  private readonly decoder = new TextDecoder();
  /** JSON mode: the decoded tail. */
  private tail = "";
  /** SSE mode: the bytes after the last line break, until their line completes. */
  private partial: Buffer[] = [];
  private partialBytes = 0;
  private usage: TokenUsage | undefined;

  constructor(private readonly mode: "sse" | "json") {}

  push(chunk: Uint8Array): void {
    if (this.mode === "json") {
      const text = this.decoder.decode(chunk, { stream: true });
      this.tail = this.tail.length + text.length <= JSON_TAIL_CHARS ? this.tail + text : (this.tail + text).slice(-JSON_TAIL_CHARS);
      return;
    }
    const bytes = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    const lastNewline = bytes.lastIndexOf(NEWLINE);
    if (lastNewline === -1) {
      this.keepPartial(bytes);
      return;
    }
    const head = bytes.subarray(0, lastNewline);
    const complete = this.partialBytes === 0 ? head : Buffer.concat([...this.partial, head]);
    this.partial = [];
    this.partialBytes = 0;
    this.keepPartial(bytes.subarray(lastNewline + 1));
    if (complete.includes(USAGE_KEY_BYTES)) this.usage = extractUsage(complete.toString("utf8")) ?? this.usage;
  }

  /** The usage found, once the body ended. */
  finish(): TokenUsage | undefined {
    const rest = this.mode === "json" ? this.tail + this.decoder.decode() : Buffer.concat(this.partial).toString("utf8");
    this.tail = "";
    this.partial = [];
    this.partialBytes = 0;
    if (rest.includes(USAGE_KEY)) this.usage = extractUsage(rest) ?? this.usage;
    return this.usage;
  }

  private keepPartial(bytes: Buffer): void {
    if (bytes.byteLength === 0) return;
    if (this.partialBytes + bytes.byteLength > MAX_SSE_LINE_BYTES) {
      // A line this long is no SSE event the gateway meters: drop it rather than grow without bound.
      this.partial = [];
      this.partialBytes = 0;
      return;
    }
    // A copy: the chunk itself goes on to the client and may be reused.
    this.partial.push(Buffer.from(bytes));
    this.partialBytes += bytes.byteLength;
  }
}
