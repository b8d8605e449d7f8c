import { type BlobStore, type PlatformContext, recordColdRequest, replicaJobExecutor, undiciTransport } from "@inferencekey/core";
import { awsConfigFromEnv } from "./dynamo-client";
import { gatewayEnvironment } from "./env";
import { createEventBridgeClient } from "./eventbridge-client";
import { EventBridgePublisher } from "./eventbridge-publisher";
import { blobInputPointerLoader } from "./job-input-pointer";
import { JOBS_ENV, JOBS_QUEUE_SETTINGS } from "./jobs-settings";
import { createS3Client, S3BlobStore } from "./s3-blob-store";
import { createSqsClient } from "./sqs-client";
import type { SqsJobBatchDeps } from "./sqs-job-consumer";
import { SqsJobQueue } from "./sqs-job-queue";

export interface JobsEnvironment {
  queueUrl: string;
  /** Unset: lifecycle events are not published. */
  eventBusName?: string;
  sqsEndpoint?: string;
  eventBridgeEndpoint?: string;
}

/** Reads the jobs settings of a function's environment, in this one place; the queue URL is required. */
export function jobsEnvironment(env: NodeJS.ProcessEnv = process.env): JobsEnvironment {
  const read = (name: string) => env[name]?.trim() || undefined;
  const queueUrl = read(JOBS_ENV.queueUrl);
  if (queueUrl === undefined) throw new Error(`missing environment: ${JOBS_ENV.queueUrl} (set by infra/queues.ts)`);
  const eventBusName = read(JOBS_ENV.eventBus);
  const sqsEndpoint = read(JOBS_ENV.sqsEndpoint);
  const eventBridgeEndpoint = read(JOBS_ENV.eventBridgeEndpoint);
  return {
    queueUrl,
    ...(eventBusName === undefined ? {} : { eventBusName }),
    ...(sqsEndpoint === undefined ? {} : { sqsEndpoint }),
    ...(eventBridgeEndpoint === undefined ? {} : { eventBridgeEndpoint }),
  };
}

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

/**
 * The jobs side of the other Lambdas, when the deployment has a job queue (`INFERENCEKEY_JOBS_QUEUE_URL`
 * set by infra/queues.ts): the gateway's `/v1/jobs` sends to it, the controller tick re-enqueues to
 * it and publishes on the bus. Undefined without the variable: `/v1/jobs` then answers 404
 * `route_not_served` and the tick skips the job upkeep.
 */
export function jobsFromEnv(env: NodeJS.ProcessEnv = process.env, log: (line: string) => void = (line) => console.error(line)) {
  if (!env[JOBS_ENV.queueUrl]?.trim()) return undefined;
  const config = jobsEnvironment(env);
  const events = eventPublisherFromEnv(config, log);
  const blobs = jobsBlobStoreFromEnv(env);
  return { queue: sqsJobQueueFromEnv(config), ...(events === undefined ? {} : { events }), ...(blobs === undefined ? {} : { blobs }) };
}

/**
 * Job inputs and results over 256 KB, in the deployment's blob bucket (`INFERENCEKEY_BLOB_BUCKET`)
 * under `jobs/`: apart from the gateway's generated files (`files/`, deleted after a day), because
 * a result is kept up to 30 days; the bucket's lifecycle rule on `jobs/` must keep objects at least
 * 31 days (each object's own expiry is enforced on read). Undefined without a bucket: inputs over
 * 256 KB are then refused and larger results fail their job.
 */
export function jobsBlobStoreFromEnv(env: NodeJS.ProcessEnv = process.env): S3BlobStore | undefined {
  const { blobBucket, s3Endpoint } = gatewayEnvironment(env);
  if (blobBucket === undefined) return undefined;
  const { region } = awsConfigFromEnv(env);
  const client = createS3Client({ ...(region === undefined ? {} : { region }), ...(s3Endpoint === undefined ? {} : { endpoint: s3Endpoint }) });
  return new S3BlobStore({ bucket: blobBucket, prefix: JOBS_BLOB_PREFIX, client });
}

/** The key prefix of job blobs in the deployment's bucket. */
export const JOBS_BLOB_PREFIX = "jobs/";
