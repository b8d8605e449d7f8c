import { awsConfigFromEnv } from "@inferencekey/aws/aws-config";
import { gatewayEnvironment, lambdaPlatformContext } from "@inferencekey/aws/env";
import { jobsFromEnv } from "@inferencekey/aws/jobs-from-env";
import { awsGatewayLimits } from "@inferencekey/aws/lambda-gateway";
import { requestFromFunctionUrlEvent } from "@inferencekey/aws/lambda-http";
import { BlobStoreOnFirstUse, onFirstUse } from "@inferencekey/aws/on-first-use";
import { createGateway, nodeHttpTransport, recordColdRequest } from "@inferencekey/core";
import { entryTools, functionUrlEntry } from "./lib/lambda-entry";
import { type StreamedResult, streamedResult } from "./lib/streamed-response";

/**
 * Time kept back from the invocation's deadline to end the answer and write what the gateway owes
 * the store (usage, concurrency lease releases) before Lambda stops the function.
 */
export const SETTLE_RESERVE_MS = 5000;

const tools = entryTools("gateway");
const ctx = lambdaPlatformContext(tools.secrets);
const env = gatewayEnvironment();
const { region } = awsConfigFromEnv();
// Images asked for as URLs are kept in S3 and served through URLs the gateway signs; without a
// bucket and the public base URL they come back as data: URLs.
const files =
  env.blobBucket !== undefined && env.publicUrl !== undefined
    ? {
        // The S3 client loads on the first image asked for as a URL, not at every cold start.
        blobs: new BlobStoreOnFirstUse(
          onFirstUse(async () => {
            const { createS3Client, S3BlobStore } = await import("@inferencekey/aws/s3-blob-store");
            return new S3BlobStore({
              bucket: env.blobBucket as string,
              client: createS3Client({
                ...(region === undefined ? {} : { region }),
                ...(env.s3Endpoint === undefined ? {} : { endpoint: env.s3Endpoint }),
              }),
            });
          }),
        ),
        publicUrl: env.publicUrl,
      }
    : {};
// The async jobs API sends to the SQS job queue (infra/queues.ts) and keeps large inputs under the
// bucket's jobs/ prefix; long polls re-read the job.
const jobs = jobsFromEnv();
// The flush timer does not run while Lambda freezes the instance: usage is written before each invocation ends.
const gateway = createGateway(ctx, {
  ...files,
  requestScaleUp: (project, workload, incarnation) => recordColdRequest(ctx, project, workload, incarnation),
  usageFlushMs: 0,
  // Many Lambda instances serve one key: its per-minute and concurrency limits are counted in DynamoDB.
  rateLimitScope: "shared",
  // Every wait ends before CloudFront's origin timeout; bodies stay under Lambda's payload limit.
  ...awsGatewayLimits(),
  log: (line) => tools.logger.error(line),
  // node:http, not undici: an instance serves one request at a time, so undici's lower CPU per
  // request saves nothing here, while loading it would cost every cold start ~190 ms of CPU
  // (docs/benchmarks.md, "Lambda bundle load").
  transport: nodeHttpTransport(),
  ...(jobs === undefined ? {} : { jobs: { queue: jobs.queue, ...(jobs.blobs === undefined ? {} : { blobs: jobs.blobs }) } }),
});

/**
 * Requests whose answer is still streaming. undici's Request follows the deadline's signal through a
 * weak reference: a Request collected mid-stream would no longer hear the deadline (the upstream
 * call would not be cancelled), so it is held here until its body ends.
 */
const inFlight = new Set<Request>();

/**
 * The data gateway behind the Router (`/endpoint`), its Function URL in RESPONSE_STREAM mode: the
 * gateway `npm start` serves, through its web binding (`gateway.handle`, Request -> Response), its
 * body streamed chunk by chunk (SSE bodies with keep-alive comments, so CloudFront never sees a
 * silence as long as its origin timeout).
 *
 * Lambda does not tell a function that its client disconnected: the response stream stays writable,
 * so a stream whose client left keeps running (and billing) until the replica finishes it, the
 * route's idle timeout fires (the replica fell silent), or the invocation's deadline less
 * SETTLE_RESERVE_MS aborts it. The request's signal carries that deadline, so the gateway cancels the
 * upstream call and records the request as cancelled; the usage and lease writes then still land,
 * before the body's last chunk is handed to the runtime.
 */
export const handler = functionUrlEntry<StreamedResult>(tools, { streamifyResponse: true }).handler(async (event, context) => {
  const deadline = new AbortController();
  const timer = setTimeout(
    () => deadline.abort(new Error("the invocation's deadline is near")),
    Math.max(0, context.getRemainingTimeInMillis() - SETTLE_RESERVE_MS),
  );
  const request = new Request(requestFromFunctionUrlEvent(event), { signal: deadline.signal });
  inFlight.add(request);
  const settle = async () => {
    clearTimeout(timer);
    inFlight.delete(request);
    await gateway.settleWrites();
  };
  try {
    const response = await gateway.handle(request);
    return await streamedResult(response, settle);
  } catch (error) {
    await settle();
    throw error;
  }
});
