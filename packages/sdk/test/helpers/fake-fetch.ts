import type { FetchLike } from "../../src/http/http-client";

/** One request the fake received, decoded for assertions. */
export interface RecordedCall {
  url: string;
  method: string;
  headers: Record<string, string>;
  body: unknown;
  signal: AbortSignal | undefined;
}

/** A scripted answer: a response, a thrown network error, a function of the call, or a hang until aborted. */
export type Reply = Response | Error | "hang" | ((call: RecordedCall) => Response | Promise<Response>);

export type FakeFetch = FetchLike & { calls: RecordedCall[] };

/** A `fetch` that answers with `replies` in order and records every call; an extra call fails the test. */
export function fakeFetch(...replies: Reply[]): FakeFetch {
  const calls: RecordedCall[] = [];
  const queue = [...replies];
  const fetch = async (url: string, init: RequestInit): Promise<Response> => {
    const call: RecordedCall = {
      url,
      method: init.method ?? "GET",
      headers: Object.fromEntries(new Headers(init.headers).entries()),
      body: typeof init.body === "string" ? JSON.parse(init.body) : undefined,
      signal: init.signal ?? undefined,
    };
    calls.push(call);
    const reply = queue.shift();
    if (reply === undefined) throw new Error(`unexpected call #${calls.length}: ${call.method} ${url}`);
    if (reply instanceof Error) throw reply;
    if (reply === "hang") return hang(call.signal);
    if (typeof reply === "function") return reply(call);
    return reply;
  };
  return Object.assign(fetch, { calls });
}

/** Never settles unless the signal aborts, like a server that stopped answering. */
function hang(signal: AbortSignal | undefined): Promise<Response> {
  return new Promise((_, reject) => {
    signal?.addEventListener("abort", () => reject(signal.reason), { once: true });
  });
}

export function jsonResponse(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json", ...headers },
  });
}

/** An error answer in the control API's one error shape. */
export function wireError(
  status: number,
  code: string,
  message: string,
  options: { requestId?: string; details?: unknown[]; headers?: Record<string, string> } = {},
): Response {
  const requestId = options.requestId ?? "req_test";
  return jsonResponse(
    status,
    { error: { code, message, request_id: requestId, details: options.details ?? [] } },
    { "x-request-id": requestId, ...options.headers },
  );
}

/** A connection failure as undici reports it: nothing was sent. */
export function connectionRefused(): Error {
  const cause = Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:443"), { code: "ECONNREFUSED" });
  return new TypeError("fetch failed", { cause });
}

/** A connection dropped after the request went out, as undici reports it: the server may have acted. */
export function connectionReset(): Error {
  const cause = Object.assign(new Error("read ECONNRESET"), { code: "ECONNRESET" });
  return new TypeError("fetch failed", { cause });
}
