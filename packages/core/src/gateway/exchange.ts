/**
 * The gateway's own request and reply shapes. The gateway is written once against these; each
 * runtime binds them to what it receives: `fromWebRequest`/`toWebResponse` for web-standard hosts
 * (Lambda), and node:http directly in the local runtime, where building a web Request, its Headers,
 * abort signal and body streams, and then a Response, cost more CPU than the proxying itself
 * (docs/benchmarks.md).
 */

/** A pull source of body chunks: `next()` resolves `undefined` at the end; `cancel()` stops the producer. */
export interface ChunkSource {
  next(): Promise<Uint8Array | undefined>;
  cancel(reason?: unknown): void;
}

/** One incoming data-plane request. */
export interface GatewayRequest {
  readonly method: string;
  /** The absolute URL as received (origin, path and query). */
  readonly url: string;
  /** A header by lower-case name; repeated headers joined with ", ". */
  header(name: string): string | null;
  /** `null` without a body; bytes when the runtime already read it whole; else a stream. */
  readonly body: Uint8Array | ReadableStream<Uint8Array> | null;
  /** Aborted when the client goes away before the reply is finished. */
  readonly signal: AbortSignal;
}

/** The gateway's answer; `headers` names are lower-case and single-valued. */
export interface GatewayReply {
  status: number;
  headers: Record<string, string>;
  body: Uint8Array | ChunkSource | null;
}

/** A web Request as a GatewayRequest (its body stays a stream). */
export function fromWebRequest(request: Request): GatewayRequest {
  return {
    method: request.method,
    url: request.url,
    header: (name) => request.headers.get(name),
    body: request.body,
    signal: request.signal,
  };
}

/** A chunk source as a web stream that pulls one chunk per read and cancels the source when cancelled. */
export function webStreamOf(source: ChunkSource): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        const chunk = await source.next();
        if (chunk === undefined) controller.close();
        else controller.enqueue(chunk);
      },
      cancel(reason) {
        source.cancel(reason);
      },
    },
    { highWaterMark: 0 },
  );
}

/** A reply as a web Response. */
export function toWebResponse(reply: GatewayReply): Response {
  const body =
    reply.body === null
      ? null
      : reply.body instanceof Uint8Array
        ? (reply.body as Uint8Array<ArrayBuffer>)
        : webStreamOf(reply.body);
  return new Response(body, { status: reply.status, headers: reply.headers });
}

/** Reads a web stream chunk by chunk as a ChunkSource. */
export function chunkSourceOf(stream: ReadableStream<Uint8Array>): ChunkSource {
  const reader = stream.getReader();
  return {
    next: async () => {
      const { done, value } = await reader.read();
      return done ? undefined : value;
    },
    cancel: (reason) => {
      reader.cancel(reason).catch(() => undefined);
    },
  };
}
