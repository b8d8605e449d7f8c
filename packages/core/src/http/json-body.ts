import { type ErrorDetail, PayloadTooLargeError, ValidationError } from "../errors";
import { BodyTooLargeError, readLimited } from "../gateway/body";
import { formatPath } from "../spec/validate";

/** Deepest nesting of objects and arrays accepted in a JSON body (the validator walks it recursively). */
export const MAX_JSON_DEPTH = 64;

/**
 * Keys refused by name at any depth: assigned to an ordinary object they reach its prototype
 * (`__proto__`) or shadow what code expects there, so a body could smuggle fields past validation.
 */
export const FORBIDDEN_JSON_KEYS: ReadonlySet<string> = new Set(["__proto__", "constructor", "prototype"]);

const OPEN_BRACE = 0x7b;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACE = 0x7d;
const CLOSE_BRACKET = 0x5d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/**
 * Whether `text` nests objects and arrays deeper than `limit`, in one pass over it (brackets inside
 * strings do not count). Run before JSON.parse, so nothing recursive ever sees a deeper value.
 */
export function jsonNestsDeeperThan(text: string, limit: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inString = false;
    } else if (c === QUOTE) {
      inString = true;
    } else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      if (++depth > limit) return true;
    } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
      depth--;
    }
  }
  return false;
}

/** A copy of a parsed JSON value whose objects have no prototype; throws on a forbidden key. */
function withoutPrototypes(value: unknown, path: (string | number)[]): unknown {
  if (Array.isArray(value)) {
    const out: unknown[] = new Array(value.length);
    for (let i = 0; i < value.length; i++) {
      path.push(i);
      out[i] = withoutPrototypes(value[i], path);
      path.pop();
    }
    return out;
  }
  if (value === null || typeof value !== "object") return value;
  const out = Object.create(null) as Record<string, unknown>;
  for (const key of Object.keys(value)) {
    path.push(key);
    if (FORBIDDEN_JSON_KEYS.has(key)) {
      throw new ValidationError(`The request body uses the reserved key "${key}".`, [
        {
          path: formatPath(path),
          message: `"${key}" is not accepted as a key anywhere in a request body`,
          expected: "field names other than __proto__, constructor and prototype",
        },
      ]);
    }
    out[key] = withoutPrototypes((value as Record<string, unknown>)[key], path);
    path.pop();
  }
  return out;
}

/**
 * Parses a JSON body into values whose objects have no prototype, refusing nesting deeper than
 * MAX_JSON_DEPTH and the keys in FORBIDDEN_JSON_KEYS with a 400 that names the limit or the key.
 */
export function parseJsonBody(text: string): unknown {
  if (jsonNestsDeeperThan(text, MAX_JSON_DEPTH)) {
    throw new ValidationError(`The request body nests objects and arrays deeper than ${MAX_JSON_DEPTH} levels.`, [
      {
        path: "",
        message: `JSON nesting deeper than the limit of ${MAX_JSON_DEPTH} levels`,
        expected: `at most ${MAX_JSON_DEPTH} levels of nested objects and arrays`,
      },
    ]);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new ValidationError("The request body is not valid JSON.", [
      { path: "", message: error instanceof Error ? error.message.slice(0, 200) : "invalid JSON", expected: "a JSON object" },
    ]);
  }
  return withoutPrototypes(parsed, []);
}

function tooLarge(maxBytes: number): PayloadTooLargeError {
  return new PayloadTooLargeError(`The request body exceeds ${maxBytes} bytes.`);
}

/**
 * The request's body, counted as it arrives and abandoned at `maxBytes` (413): an oversized body is
 * never held whole, whatever its Content-Length says (or whether it says anything).
 */
export async function readBodyLimited(request: Request, maxBytes: number): Promise<Uint8Array> {
  const declared = request.headers.get("content-length");
  if (declared !== null && Number(declared) > maxBytes) {
    await request.body?.cancel().catch(() => undefined);
    throw tooLarge(maxBytes);
  }
  if (request.body === null) return new Uint8Array(0);
  try {
    return await readLimited(request.body, maxBytes);
  } catch (error) {
    if (error instanceof BodyTooLargeError) throw tooLarge(maxBytes);
    throw error;
  }
}

/** Reads a JSON object body: bounded read, bounded depth, no prototypes; a 400 says what is wrong. */
export async function readJsonBody(request: Request, maxBytes = 256 * 1024): Promise<Record<string, unknown>> {
  const bytes = await readBodyLimited(request, maxBytes);
  const text = new TextDecoder().decode(bytes);
  if (text.trim() === "") return Object.create(null) as Record<string, unknown>;
  const parsed = parseJsonBody(text);
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
    const detail: ErrorDetail = { path: "", message: "expected a JSON object", received: parsed, expected: "a JSON object" };
    throw new ValidationError("The request body must be a JSON object.", [detail]);
  }
  return parsed as Record<string, unknown>;
}
