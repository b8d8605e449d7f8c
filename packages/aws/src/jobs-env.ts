import { type BlobStore, nodeHttpTransport, type PlatformContext, recordColdRequest, replicaJobExecutor } from "@inferencekey/core";
import { blobInputPointerLoader } from "./job-input-pointer";
import { eventPublisherFromEnv, type JobsEnvironment, sqsJobQueueFromEnv } from "./jobs-from-env";
import { JOBS_QUEUE_SETTINGS } from "./jobs-settings";
import type { SqsJobBatchDeps } from "./sqs-job-consumer";

/**
 * Everything the jobs-consumer Lambda hands `settleJobBatch`: the SQS queue (re-sends, retry
 * backoff), EventBridge, the replica executor with the gateway's transport, the queue's receive
 * limit, a lease as long as the function can live, and cold marks so a parked job's workload
 * scales up. `blobs` (object storage for large inputs and results) is optional until the S3 blob
 * store is deployed: without it `input_pointer` messages are refused with that reason. The Lambda
 * passes `jobsBlobStoreOnFirstUse()`, so its init loads no SDK client.
 */
export function jobConsumerDeps(ctx: PlatformContext, config: JobsEnvironment, options: { blobs?: BlobStore; log?: (line: string) => void } = {}): SqsJobBatchDeps {
  const log = options.log ?? ((line: string) => console.error(line));
  const queue = sqsJobQueueFromEnv(config);
  const events = eventPublisherFromEnv(config, log);
  return {
    ctx,
    queue,
    // node:http, as the Lambda gateway: undici would cost the first batch of every instance ~190 ms of CPU to load.
    executor: replicaJobExecutor(ctx, { transport: nodeHttpTransport(), timeoutMs: JOBS_QUEUE_SETTINGS.executorTimeoutMs }),
    maxReceives: JOBS_QUEUE_SETTINGS.maxReceiveCount,
    // A Lambda never outlives its timeout: once that has passed, the taker is surely gone.
    leaseSeconds: JOBS_QUEUE_SETTINGS.consumerTimeoutSeconds,
    requestScaleUp: (project, workload, incarnation) => recordColdRequest(ctx, project, workload, incarnation),
    retryAfter: (receipt, seconds) => queue.retryAfter(receipt, seconds),
    perWorkloadInFlight: JOBS_QUEUE_SETTINGS.perWorkloadInFlight,
    allowPrivateWebhooks: false,
    log,
    ...(events === undefined ? {} : { events }),
    ...(options.blobs === undefined ? {} : { blobs: options.blobs, loadInputPointer: blobInputPointerLoader(options.blobs, () => ctx.now()) }),
  };
}
