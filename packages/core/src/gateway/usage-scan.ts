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

const JSON_TAIL_CHARS = 16 * 1024;
const MAX_SSE_LINE_CHARS = 1024 * 1024;

/**
 * Watches response chunks as they pass (nothing is held back or copied beyond a bounded window)
 * and reports the token usage at the end. SSE: complete `data:` lines are scanned, the last usage
 * seen wins (vLLM's final usage chunk, or cumulative continuous stats). JSON: usage sits near the
 * end of OpenAI responses, so only the last 16 KiB are kept.
 */
export class UsageScanner {
  private readonly decoder = new TextDecoder();
  private carry = "";
  private usage: TokenUsage | undefined;

  constructor(private readonly mode: "sse" | "json") {}

  push(chunk: Uint8Array): void {
    const text = this.decoder.decode(chunk, { stream: true });
    if (this.mode === "json") {
      this.carry = this.carry.length + text.length <= JSON_TAIL_CHARS ? this.carry + text : (this.carry + text).slice(-JSON_TAIL_CHARS);
      return;
    }
    const combined = this.carry + text;
    const lastNewline = combined.lastIndexOf("\n");
    if (lastNewline === -1) {
      this.carry = combined.length > MAX_SSE_LINE_CHARS ? "" : combined;
      return;
    }
    const complete = combined.slice(0, lastNewline);
    this.carry = combined.slice(lastNewline + 1);
    if (complete.includes(USAGE_KEY)) this.usage = extractUsage(complete) ?? this.usage;
  }

  /** The usage found, once the body ended. */
  finish(): TokenUsage | undefined {
    const rest = this.carry + this.decoder.decode();
    this.carry = "";
    if (rest.includes(USAGE_KEY)) this.usage = extractUsage(rest) ?? this.usage;
    return this.usage;
  }
}
