import type { BlobStore, EventPublisher, JobQueue } from "@inferencekey/core";
import { AwsJsonClient } from "./aws-json-client";
import { gatewayEnvironment } from "./env";
import { EventBridgePublisher } from "./eventbridge-publisher";
import { JOBS_ENV } from "./jobs-settings";
import { BlobStoreOnFirstUse, onFirstUse } from "./on-first-use";
import { sqsJsonClient } from "./sqs-json-client";
import { SqsJobQueue } from "./sqs-job-queue";

// Nothing here imports an AWS SDK client: the job queue and the bus speak through AwsJsonClient,
// and the bucket's S3 client loads on first use, so every function that has the jobs side (the
// gateway, the controllers, the jobs consumer) loads no SDK client for it at init.

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
  if (queueUrl === undefined)
    throw new Error(`missing environment: ${JOBS_ENV.queueUrl} (set by infra/queues.ts)`);
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

/** The SQS job queue a function sends to (the gateway's `/v1/jobs`, the controller's re-enqueues, the consumer's re-sends). */
export function sqsJobQueueFromEnv(config: JobsEnvironment): SqsJobQueue {
  const client = sqsJsonClient(config.queueUrl, config.sqsEndpoint === undefined ? {} : { endpoint: config.sqsEndpoint });
  return new SqsJobQueue({ queueUrl: config.queueUrl, client });
}

/** The lifecycle event publisher, when the deployment has a bus. */
export function eventPublisherFromEnv(config: JobsEnvironment, log: (line: string) => void): EventBridgePublisher | undefined {
  if (config.eventBusName === undefined) return undefined;
  const client = new AwsJsonClient({ service: "events", ...(config.eventBridgeEndpoint === undefined ? {} : { endpoint: config.eventBridgeEndpoint }) });
  return new EventBridgePublisher({ busName: config.eventBusName, client, log });
}

/**
 * The job blob store (inputs and results over 256 KB, `jobs-blob-store.ts`) when the deployment has
 * a bucket, its module and S3 client loaded on the first `put` or `get`: few jobs need it, so no
 * cold start pays the S3 client's load for it. Undefined without `INFERENCEKEY_BLOB_BUCKET`.
 */
export function jobsBlobStoreOnFirstUse(env: NodeJS.ProcessEnv = process.env): BlobStore | undefined {
  if (gatewayEnvironment(env).blobBucket === undefined) return undefined;
  return new BlobStoreOnFirstUse(
    onFirstUse(async () => {
      const store = (await import("./jobs-blob-store")).jobsBlobStoreFromEnv(env);
      if (store === undefined) throw new Error("the job blob store needs INFERENCEKEY_BLOB_BUCKET (set by infra/)");
      return store;
    }),
  );
}

/**
 * The jobs side of the other Lambdas, when the deployment has a job queue (`INFERENCEKEY_JOBS_QUEUE_URL`
 * set by infra/queues.ts): the gateway's `/v1/jobs` sends to it, the controller tick re-enqueues to
 * it and publishes on the bus. Undefined without the variable: `/v1/jobs` then answers 404
 * `route_not_served` and the tick skips the job upkeep.
 */
export function jobsFromEnv(
  env: NodeJS.ProcessEnv = process.env,
  log: (line: string) => void = (line) => console.error(line),
): { queue: JobQueue; events?: EventPublisher; blobs?: BlobStore } | undefined {
  if (!env[JOBS_ENV.queueUrl]?.trim()) return undefined;
  const config = jobsEnvironment(env);
  const queue = sqsJobQueueFromEnv(config);
  const events = eventPublisherFromEnv(config, log);
  const blobs = jobsBlobStoreOnFirstUse(env);
  return { queue, ...(events === undefined ? {} : { events }), ...(blobs === undefined ? {} : { blobs }) };
}
