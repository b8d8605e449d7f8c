import { Writable } from "node:stream";
import type { APIGatewayProxyEventV2, Context } from "aws-lambda";

/**
 * A model of the Lambda Node.js runtime's response streaming (the `awslambda` global), enough to
 * run a RESPONSE_STREAM handler outside Lambda: `streamifyResponse` marks the handler, and
 * `HttpResponseStream.from` attaches the status and headers (the "prelude"), which the runtime
 * sends with the first write, even an empty one. As in Lambda, a handler that ends the stream
 * without writing sends no prelude: the caller sees a 200 with no headers.
 */

const STREAMING = Symbol.for("inferencekey.test.lambda-streaming");

export interface Prelude {
  statusCode?: number;
  headers?: Record<string, string>;
  cookies?: string[];
}

/** Where a streamed response goes: the prelude once, then the body chunks, then the end. */
export interface StreamSink {
  head(prelude: Prelude): void;
  chunk(bytes: Buffer): void;
  end(): void;
}

type StreamingHandler = (event: unknown, stream: Writable, context: Context) => Promise<unknown>;

class ResponseStream extends Writable {
  prelude: Prelude | undefined;
  #headSent = false;

  constructor(private readonly sink: StreamSink) {
    super();
  }

  #sendHead(): void {
    if (this.#headSent) return;
    this.#headSent = true;
    this.sink.head(this.prelude ?? { statusCode: 200 });
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.#sendHead();
    if (chunk.length > 0) this.sink.chunk(chunk);
    callback();
  }

  override _final(callback: (error?: Error | null) => void): void {
    // The runtime's behaviour: without a write, the prelude is never sent.
    if (!this.#headSent) this.sink.head({ statusCode: 200 });
    this.sink.end();
    callback();
  }
}

/** Installs the `awslambda` global (idempotent): import streaming handlers after this. */
export function installLambdaStreamingRuntime(): void {
  const existing = (globalThis as { awslambda?: Record<string, unknown> }).awslambda;
  if (typeof existing?.streamifyResponse === "function") return;
  // Another library may have put its own members there (Powertools does): keep them.
  (globalThis as Record<string, unknown>).awslambda = {
    ...existing,
    streamifyResponse: (handler: StreamingHandler) => Object.assign(handler, { [STREAMING]: true }),
    HttpResponseStream: {
      from: (stream: ResponseStream, prelude: Prelude) => {
        stream.prelude = prelude;
        return stream;
      },
    },
  };
}

/** True for a handler wrapped by `awslambda.streamifyResponse`. */
export function isStreamingHandler(handler: unknown): handler is StreamingHandler {
  return typeof handler === "function" && (handler as unknown as Record<symbol, unknown>)[STREAMING] === true;
}

let invocation = 0;

/** A Lambda context for local invocations (request ids like Lambda's, a long remaining time). */
export function lambdaContext(functionName: string): Context {
  invocation += 1;
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: "$LATEST",
    invokedFunctionArn: `arn:aws:lambda:us-east-1:123456789012:function:${functionName}`,
    memoryLimitInMB: "1024",
    awsRequestId: `local-${process.pid}-${invocation}`,
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: "local",
    getRemainingTimeInMillis: () => 900_000,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

/** Runs a streaming handler as the runtime does, into `sink`; resolves when the handler is done. */
export async function invokeStreaming(handler: StreamingHandler, event: APIGatewayProxyEventV2, context: Context, sink: StreamSink): Promise<void> {
  const stream = new ResponseStream(sink);
  await handler(event, stream, context);
  if (!stream.writableFinished) await new Promise<void>((resolve) => stream.once("finish", () => resolve()));
}
