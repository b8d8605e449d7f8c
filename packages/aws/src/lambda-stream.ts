import { AWS_LIMITS } from "./deployment";

/** The SSE comment sent when a stream has been silent for `keepAliveMs` (clients ignore comment lines). */
export const SSE_KEEP_ALIVE = ": keep-alive\n\n";

export interface ResponseChunksOptions {
  /** SSE responses (`text/event-stream`) get keep-alive comments; other bodies pass through unchanged. */
  sse: boolean;
  /** Silence after which a keep-alive comment is sent. Default `AWS_LIMITS.sseKeepAliveMs`. */
  keepAliveMs?: number;
  /** Runs once the body is finished or failed, before the stream ends (the usage flush). */
  onEnd?: () => Promise<void>;
}

/**
 * A response body as the chunks a Lambda response stream writes. CloudFront ends an origin
 * response that stays silent longer than its read timeout (60 s); a generation that thinks longer
 * than that between two tokens would be cut, so an SSE body with nothing to send for
 * `keepAliveMs` sends a `:` comment line instead. `onEnd` runs before the last chunk is handed
 * over, so it completes inside the invocation.
 */
export async function* responseBodyChunks(body: ReadableStream<Uint8Array>, options: ResponseChunksOptions): AsyncGenerator<Uint8Array | string> {
  const reader = body.getReader();
  const keepAliveMs = options.keepAliveMs ?? AWS_LIMITS.sseKeepAliveMs;
  try {
    let pending = reader.read();
    // A body that breaks off (the invocation's deadline, the upstream failing) ends the answer
    // there: the status went out with the first chunk, and the gateway cancelled the upstream call.
    pending.catch(() => undefined);
    for (;;) {
      let timer: NodeJS.Timeout | undefined;
      let next: ReadableStreamReadResult<Uint8Array> | "silent";
      try {
        next = options.sse
          ? await Promise.race([
              pending,
              new Promise<"silent">((resolve) => {
                timer = setTimeout(() => resolve("silent"), keepAliveMs);
              }),
            ])
          : await pending;
      } catch {
        return;
      } finally {
        clearTimeout(timer);
      }
      if (next === "silent") {
        yield SSE_KEEP_ALIVE;
        continue;
      }
      if (next.done) return;
      yield next.value;
      pending = reader.read();
      pending.catch(() => undefined);
    }
  } finally {
    // A consumer that stopped early (the client went away) cancels the upstream body.
    await reader.cancel().catch(() => undefined);
    await options.onEnd?.();
  }
}
