import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { ReadableStream as NodeReadableStream } from "node:stream/web";
import { awsConfigFromEnv, createS3Client, gatewayEnvironment, lambdaPlatformContext, requestFromFunctionUrlEvent, S3BlobStore } from "@inferencekey/aws";
import { createGateway, recordColdRequest } from "@inferencekey/core";
// The `awslambda` global (streamifyResponse, HttpResponseStream) is the Node.js runtime's, not a
// package's; @types/aws-lambda declares it, so importing the types brings the ambient declaration.
import type { APIGatewayProxyEventV2, Context } from "aws-lambda";

/**
 * Time kept back from the invocation's deadline to end the answer and write what the gateway owes
 * the store (usage, concurrency lease releases) before Lambda stops the function.
 */
export const SETTLE_RESERVE_MS = 5000;

const ctx = lambdaPlatformContext();
const env = gatewayEnvironment();
const { region } = awsConfigFromEnv();
// Images asked for as URLs are kept in S3 and served through URLs the gateway signs; without a
// bucket and the public base URL they come back as data: URLs.
const files =
  env.blobBucket !== undefined && env.publicUrl !== undefined
    ? {
        blobs: new S3BlobStore({
          bucket: env.blobBucket,
          client: createS3Client({
            ...(region === undefined ? {} : { region }),
            ...(env.s3Endpoint === undefined ? {} : { endpoint: env.s3Endpoint }),
          }),
        }),
        publicUrl: env.publicUrl,
      }
    : {};
// The flush timer does not run while Lambda freezes the instance: usage is written before each invocation ends.
const gateway = createGateway(ctx, {
  ...files,
  requestScaleUp: (project, workload, incarnation) => recordColdRequest(ctx, project, workload, incarnation),
  usageFlushMs: 0,
  // Many Lambda instances serve one key: its per-minute and concurrency limits are counted in DynamoDB.
  rateLimitScope: "shared",
});

/**
 * The data gateway behind a Function URL in RESPONSE_STREAM mode: the gateway `npm start` serves,
 * through its web binding (`gateway.handle`, Request -> Response), its body piped chunk by chunk.
 *
 * Lambda does not tell a function that its client disconnected: the response stream stays writable,
 * so a stream whose client left keeps running (and billing) until the replica finishes it, the
 * route's idle timeout fires (the replica fell silent), or the invocation's deadline less
 * SETTLE_RESERVE_MS aborts it. The request's signal carries that deadline, so the gateway cancels the
 * upstream call and records the request as cancelled; the usage and lease writes then still land.
 */
export const handler = awslambda.streamifyResponse<APIGatewayProxyEventV2>(async (event, responseStream, context: Context) => {
  const deadline = new AbortController();
  const timer = setTimeout(
    () => deadline.abort(new Error("the invocation's deadline is near")),
    Math.max(0, context.getRemainingTimeInMillis() - SETTLE_RESERVE_MS),
  );
  try {
    const request = new Request(requestFromFunctionUrlEvent(event), { signal: deadline.signal });
    const response = await gateway.handle(request);
    const headers: Record<string, string> = {};
    response.headers.forEach((value, name) => {
      if (name !== "set-cookie") headers[name] = value;
    });
    const cookies = response.headers.getSetCookie();
    const stream = awslambda.HttpResponseStream.from(responseStream, {
      statusCode: response.status,
      headers,
      ...(cookies.length > 0 ? { cookies } : {}),
    });
    try {
      if (response.body === null) {
        // The runtime sends the status and headers before the first write: an answer without a body
        // (204, HEAD) must still write once, or the client would get neither.
        stream.write("");
        stream.end();
      } else {
        await pipeline(Readable.fromWeb(response.body as NodeReadableStream<Uint8Array>), stream);
      }
    } catch {
      // The stream broke off (deadline, upstream failure): the gateway cancelled the upstream call with the body.
    }
  } finally {
    clearTimeout(timer);
    await gateway.settleWrites();
  }
});
