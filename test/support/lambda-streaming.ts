import { Writable } from "node:stream";
import type { Context } from "aws-lambda";

/**
 * A model of the Node.js Lambda runtime's response streaming, for loading a
 * `awslambda.streamifyResponse` entry in tests. It follows the runtime interface client
 * (aws-lambda-nodejs-runtime-interface-client, `HttpResponseStream.js` and `ResponseStream.js`):
 * `HttpResponseStream.from` sets the integration content type and arranges for the JSON prelude
 * (status, headers, cookies) and 8 NUL bytes to be written before the first write, and only then;
 * a stream ended without any write sends no prelude, so the Function URL answers 200 without the
 * function's status or headers (the case an empty body must avoid). Like Lambda, it never tells the
 * function that the client went away: the stream stays writable until the function ends it.
 */

const PRELUDE_CONTENT_TYPE = "application/vnd.awslambda.http-integration-response";
const DELIMITER = new Uint8Array(8);

/** What the client of the Function URL receives, decoded as the URL's front end does. */
export interface StreamedAnswer {
  status: number;
  headers: Record<string, string>;
  cookies: string[];
  body: Buffer;
  /** Whether the function wrote the prelude (false: its status and headers were lost). */
  preludeSent: boolean;
}

class ModelResponseStream extends Writable {
  readonly chunks: Buffer[] = [];
  contentType = "application/octet-stream";
  _onBeforeFirstWrite: ((write: (chunk: string | Uint8Array) => void) => void) | undefined;
  /** Ms from the invocation's start to each body write (after the prelude), for timing assertions. */
  readonly writeTimes: number[] = [];
  private readonly started = performance.now();

  setContentType(contentType: string): void {
    this.contentType = contentType;
  }

  override write(chunk: unknown, encoding?: unknown, callback?: unknown): boolean {
    if (typeof this._onBeforeFirstWrite === "function") {
      this._onBeforeFirstWrite((c) => this.chunks.push(Buffer.from(c)));
      this._onBeforeFirstWrite = undefined;
    }
    this.writeTimes.push(performance.now() - this.started);
    return super.write(chunk as string, encoding as BufferEncoding, callback as () => void);
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.chunks.push(Buffer.from(chunk));
    callback();
  }

  answer(): StreamedAnswer {
    const raw = Buffer.concat(this.chunks);
    if (this.contentType !== PRELUDE_CONTENT_TYPE) return { status: 200, headers: {}, cookies: [], body: raw, preludeSent: false };
    const end = raw.indexOf(Buffer.from(DELIMITER));
    if (end === -1) return { status: 200, headers: {}, cookies: [], body: Buffer.alloc(0), preludeSent: false };
    const prelude = JSON.parse(raw.subarray(0, end).toString("utf8")) as { statusCode?: number; headers?: Record<string, string>; cookies?: string[] };
    return {
      status: prelude.statusCode ?? 200,
      headers: prelude.headers ?? {},
      cookies: prelude.cookies ?? [],
      body: raw.subarray(end + DELIMITER.length),
      preludeSent: true,
    };
  }
}

type StreamingHandler<E> = (event: E, stream: Writable, context: Context) => Promise<unknown>;

/** What `streamifyResponse` returns in the model: invoke it as Lambda would, get the client's view. */
export type ModelInvoke<E> = (event: E, options?: { remainingTimeMs?: number }) => Promise<StreamedAnswer & { writeTimes: number[]; durationMs: number }>;

/** Installs the model as the `awslambda` global (before the entry module is imported). */
export function installLambdaStreamingRuntime(): void {
  const runtime = {
    streamifyResponse<E>(handler: StreamingHandler<E>): ModelInvoke<E> {
      return async (event, options = {}) => {
        const stream = new ModelResponseStream();
        const started = performance.now();
        const remaining = options.remainingTimeMs ?? 900_000;
        const context = { getRemainingTimeInMillis: () => Math.max(0, remaining - (performance.now() - started)) } as Context;
        await handler(event, stream, context);
        // The runtime closes the stream when the handler's promise settles, if the handler did not.
        if (!stream.writableEnded) stream.end();
        return { ...stream.answer(), writeTimes: stream.writeTimes, durationMs: performance.now() - started };
      };
    },
    HttpResponseStream: {
      from(underlying: ModelResponseStream, prelude: Record<string, unknown>): ModelResponseStream {
        underlying.setContentType(PRELUDE_CONTENT_TYPE);
        const metadata = JSON.stringify(prelude);
        underlying._onBeforeFirstWrite = (write) => {
          write(metadata);
          write(DELIMITER);
        };
        return underlying;
      },
    },
  };
  (globalThis as unknown as { awslambda: typeof runtime }).awslambda = runtime;
}
