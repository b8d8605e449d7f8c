import { Writable } from "node:stream";
import type { Context } from "aws-lambda";

/**
 * The one model of the Node.js Lambda runtime's response streaming (the `awslambda` global), for
 * running `streamifyResponse` entries in tests: the entry tests, the local router, the emulated
 * stack. It follows the runtime interface client (aws-lambda-nodejs-runtime-interface-client,
 * `HttpResponseStream.js` and `ResponseStream.js`): `HttpResponseStream.from` sets the integration
 * content type and arranges for the JSON prelude (status, headers, cookies) and 8 NUL bytes to be
 * written before the first write, even an empty one, and only then; a stream ended without any
 * write sends no prelude, so the Function URL answers 200 without the function's status or headers
 * (the case an empty body must avoid). The receiving side decodes the bytes as the URL's front end
 * does. Like Lambda, it never tells the function that the client went away: the stream stays
 * writable until the function ends it, and the runtime ends it when the handler's promise settles.
 */

const PRELUDE_CONTENT_TYPE = "application/vnd.awslambda.http-integration-response";
const DELIMITER = Buffer.alloc(8);
const STREAMING = Symbol.for("inferencekey.test.lambda-streaming");

export interface Prelude {
  statusCode?: number;
  headers?: Record<string, string>;
  cookies?: string[];
}

/** Where a streamed response goes, as the Function URL's client sees it: the head once, the body chunks, the end. */
export interface StreamSink {
  /** `preludeSent` false: the function's status and headers were lost (a 200 with no headers). */
  head(prelude: Prelude, preludeSent: boolean): void;
  chunk(bytes: Buffer): void;
  end(): void;
}

export type StreamingHandler<E = unknown> = (event: E, stream: Writable, context: Context) => Promise<unknown>;

class ModelResponseStream extends Writable {
  contentType = "application/octet-stream";
  _onBeforeFirstWrite: ((write: (chunk: string | Uint8Array) => void) => void) | undefined;
  /** Ms from the invocation's start to each write of the function (after the prelude), for timing assertions. */
  readonly writeTimes: number[] = [];
  #received = Buffer.alloc(0);
  #headSent = false;

  constructor(
    private readonly sink: StreamSink,
    private readonly started: number,
  ) {
    super();
  }

  setContentType(contentType: string): void {
    this.contentType = contentType;
  }

  override write(chunk: unknown, encoding?: unknown, callback?: unknown): boolean {
    if (typeof this._onBeforeFirstWrite === "function") {
      const before = this._onBeforeFirstWrite;
      this._onBeforeFirstWrite = undefined;
      before((bytes) => this.#receive(Buffer.from(bytes)));
    }
    this.writeTimes.push(performance.now() - this.started);
    return super.write(chunk as string, encoding as BufferEncoding, callback as () => void);
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.#receive(chunk);
    callback();
  }

  override _final(callback: (error?: Error | null) => void): void {
    // Ended without the prelude: the front end answers 200 without the function's status or headers.
    if (!this.#headSent) this.sink.head({ statusCode: 200 }, false);
    this.sink.end();
    callback();
  }

  /** The front end's side: the prelude up to the NUL delimiter, then the body. */
  #receive(bytes: Buffer): void {
    if (this.#headSent) {
      if (bytes.length > 0) this.sink.chunk(bytes);
      return;
    }
    if (this.contentType !== PRELUDE_CONTENT_TYPE) {
      this.#headSent = true;
      this.sink.head({ statusCode: 200 }, false);
      if (bytes.length > 0) this.sink.chunk(bytes);
      return;
    }
    this.#received = Buffer.concat([this.#received, bytes]);
    const end = this.#received.indexOf(DELIMITER);
    if (end === -1) return;
    this.#headSent = true;
    this.sink.head(JSON.parse(this.#received.subarray(0, end).toString("utf8")) as Prelude, true);
    const rest = this.#received.subarray(end + DELIMITER.length);
    if (rest.length > 0) this.sink.chunk(rest);
  }
}

/** Installs the model as the `awslambda` global (idempotent): import streaming entries after this. */
export function installLambdaStreamingRuntime(): void {
  const existing = (globalThis as { awslambda?: Record<string, unknown> }).awslambda;
  if (typeof existing?.streamifyResponse === "function") return;
  // Another library may have put its own members there (Powertools does): keep them.
  (globalThis as Record<string, unknown>).awslambda = {
    ...existing,
    streamifyResponse: (handler: StreamingHandler) => Object.assign(handler, { [STREAMING]: true }),
    HttpResponseStream: {
      from(underlying: ModelResponseStream, prelude: Prelude): ModelResponseStream {
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
}

/** True for a handler wrapped by `awslambda.streamifyResponse`. */
export function isStreamingHandler(handler: unknown): handler is StreamingHandler {
  return typeof handler === "function" && (handler as unknown as Record<symbol, unknown>)[STREAMING] === true;
}

let invocation = 0;

/** A Lambda context for local invocations: request ids like Lambda's, `remainingTimeMs` (default 15 min) counting down from now. */
export function lambdaContext(functionName: string, options: { remainingTimeMs?: number } = {}): Context {
  invocation += 1;
  const started = performance.now();
  const remaining = options.remainingTimeMs ?? 900_000;
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: "$LATEST",
    invokedFunctionArn: `arn:aws:lambda:us-east-1:123456789012:function:${functionName}`,
    memoryLimitInMB: "1024",
    awsRequestId: `local-${process.pid}-${invocation}`,
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: "local",
    getRemainingTimeInMillis: () => Math.max(0, remaining - (performance.now() - started)),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

/** Runs a streaming handler as the runtime does, into `sink`; resolves when the response has ended. Returns the write times. */
export async function invokeStreaming<E>(handler: StreamingHandler<E>, event: E, context: Context, sink: StreamSink): Promise<{ writeTimes: number[] }> {
  const stream = new ModelResponseStream(sink, performance.now());
  await handler(event, stream, context);
  // The runtime closes the stream when the handler's promise settles, if the handler did not.
  if (!stream.writableEnded) stream.end();
  if (!stream.writableFinished) await new Promise<void>((resolve) => stream.once("finish", () => resolve()));
  return { writeTimes: stream.writeTimes };
}

/** What the client of the Function URL receives, decoded as the URL's front end does. */
export interface StreamedAnswer {
  status: number;
  headers: Record<string, string>;
  cookies: string[];
  body: Buffer;
  /** Whether the function wrote the prelude (false: its status and headers were lost). */
  preludeSent: boolean;
  /** Ms from the invocation's start to each write of the function. */
  writeTimes: number[];
  /** Ms from the invocation's start to each body chunk the client received. */
  chunkTimes: number[];
  durationMs: number;
}

/** Invokes a streaming entry as Lambda would and collects the client's view of the whole answer. */
export async function invokeStreamed<E>(handler: unknown, event: E, options: { remainingTimeMs?: number; functionName?: string } = {}): Promise<StreamedAnswer> {
  if (!isStreamingHandler(handler)) throw new Error("not a streamifyResponse handler: install the model before importing the entry");
  const started = performance.now();
  const chunks: Buffer[] = [];
  const chunkTimes: number[] = [];
  let head: { prelude: Prelude; preludeSent: boolean } = { prelude: {}, preludeSent: false };
  const context = lambdaContext(options.functionName ?? "function", options);
  const { writeTimes } = await invokeStreaming(handler as StreamingHandler<E>, event, context, {
    head: (prelude, preludeSent) => {
      head = { prelude, preludeSent };
    },
    chunk: (bytes) => {
      chunks.push(bytes);
      chunkTimes.push(performance.now() - started);
    },
    end: () => undefined,
  });
  return {
    status: head.prelude.statusCode ?? 200,
    headers: head.prelude.headers ?? {},
    cookies: head.prelude.cookies ?? [],
    body: Buffer.concat(chunks),
    preludeSent: head.preludeSent,
    writeTimes,
    chunkTimes,
    durationMs: performance.now() - started,
  };
}

/** A streaming entry bound to the model: invoke it with an event, get the client's view. */
export type ModelInvoke<E> = (event: E, options?: { remainingTimeMs?: number }) => Promise<StreamedAnswer>;
