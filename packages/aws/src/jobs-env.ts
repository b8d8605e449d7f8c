import { type BlobStore, type PlatformContext, recordColdRequest, replicaJobExecutor, undiciTransport } from "@inferencekey/core";
import { createEventBridgeClient } from "./eventbridge-client";
import { EventBridgePublisher } from "./eventbridge-publisher";
import { blobInputPointerLoader } from "./job-input-pointer";
import { JOBS_BLOB_PREFIX, jobsBlobStoreFromEnv } from "./jobs-blob-store";
import { type JobsEnvironment, jobsEnvironment, jobsFromEnv } from "./jobs-from-env";
import { JOBS_QUEUE_SETTINGS } from "./jobs-settings";
import { createSqsClient } from "./sqs-client";
import type { SqsJobBatchDeps } from "./sqs-job-consumer";
import { SqsJobQueue } from "./sqs-job-queue";

/** The SQS job queue a function sends to (the gateway's `/v1/jobs`, the controller's re-enqueues). */
export function sqsJobQueueFromEnv(config: JobsEnvironment): SqsJobQueue {
  return new SqsJobQueue({ queueUrl: config.queueUrl, client: createSqsClient(config.sqsEndpoint === undefined ? {} : { endpoint: config.sqsEndpoint }) });
}

/** The lifecycle event publisher, when the deployment has a bus. */
export function eventPublisherFromEnv(config: JobsEnvironment, log: (line: string) => void): EventBridgePublisher | undefined {
  if (config.eventBusName === undefined) return undefined;
  const client = createEventBridgeClient(config.eventBridgeEndpoint === undefined ? {} : { endpoint: config.eventBridgeEndpoint });
  return new EventBridgePublisher({ busName: config.eventBusName, client, log });
}

/**
 * Everything the jobs-consumer Lambda hands `settleJobBatch`: the SQS queue (re-sends, retry
 * backoff), EventBridge, the replica executor with the gateway's transport, the queue's receive
 * limit, a lease as long as the function can live, and cold marks so a parked job's workload
 * scales up. `blobs` (object storage for large inputs and results) is optional until the S3 blob
 * store is deployed: without it `input_pointer` messages are refused with that reason.
 */
export function jobConsumerDeps(ctx: PlatformContext, config: JobsEnvironment, options: { blobs?: BlobStore; log?: (line: string) => void } = {}): SqsJobBatchDeps {
  const log = options.log ?? ((line: string) => console.error(line));
  const queue = sqsJobQueueFromEnv(config);
  const events = eventPublisherFromEnv(config, log);
  return {
    ctx,
    queue,
    executor: replicaJobExecutor(ctx, { transport: undiciTransport(), timeoutMs: JOBS_QUEUE_SETTINGS.executorTimeoutMs }),
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

export { JOBS_BLOB_PREFIX, type JobsEnvironment, jobsBlobStoreFromEnv, jobsEnvironment, jobsFromEnv };
