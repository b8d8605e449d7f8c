import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { ReadableStream as NodeReadableStream } from "node:stream/web";
import { lambdaPlatformContext, requestFromFunctionUrlEvent } from "@inferencekey/aws";
import { createGateway, recordColdRequest } from "@inferencekey/core";
// The `awslambda` global (streamifyResponse, HttpResponseStream) is the Node.js runtime's, not a
// package's; @types/aws-lambda declares it, so importing the types brings the ambient declaration.
import type { APIGatewayProxyEventV2 } from "aws-lambda";

const ctx = lambdaPlatformContext();
// No blob store in AWS yet (object storage is a later issue): images asked for as URLs get data: URLs.
// The flush timer does not run while Lambda freezes the instance, so usage is flushed after responses.
const gateway = createGateway(ctx, {
  requestScaleUp: (project, workload, incarnation) => recordColdRequest(ctx, project, workload, incarnation),
  usageFlushMs: 0,
  // Many Lambda instances serve one key: its per-minute limit is counted in DynamoDB.
  rateLimitScope: "shared",
});

/**
 * The data gateway behind a Function URL in RESPONSE_STREAM mode: the gateway `npm start` serves,
 * through its web binding (`gateway.handle`, Request -> Response), its body piped chunk by chunk.
 * A client that disconnects closes the response stream, which aborts the request and cancels the
 * upstream call.
 */
export const handler = awslambda.streamifyResponse<APIGatewayProxyEventV2>(async (event, responseStream) => {
  const disconnected = new AbortController();
  responseStream.once("close", () => disconnected.abort());
  const request = new Request(requestFromFunctionUrlEvent(event), { signal: disconnected.signal });
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
    if (response.body === null) stream.end();
    else await pipeline(Readable.fromWeb(response.body as NodeReadableStream<Uint8Array>), stream);
  } catch {
    // The client went away mid-stream; the upstream call was cancelled with the body.
  }
  await gateway.flushUsageIfDue();
});
