import type { BlobStore, EventPublisher, JobQueue } from "@inferencekey/core";
import { gatewayEnvironment } from "./env";
import { JOBS_ENV } from "./jobs-settings";
import {
  BlobStoreOnFirstUse,
  EventPublisherOnFirstUse,
  JobQueueOnFirstUse,
  onFirstUse,
} from "./on-first-use";

// Apart from jobs-env.ts (the consumer's eager factories): nothing here imports an AWS SDK client,
// so the gateway and the controllers load the job queue's, the bus's and the bucket's on first use.

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
  // The SQS, EventBridge and S3 clients load on first use (a job request, a transition, a large
  // input), not at every cold start of the gateway and the controllers: on-first-use.ts.
  const queue = new JobQueueOnFirstUse(
    onFirstUse(async () => {
      const [{ SqsJobQueue }, { createSqsClient }] = await Promise.all([
        import("./sqs-job-queue"),
        import("./sqs-client"),
      ]);
      return new SqsJobQueue({
        queueUrl: config.queueUrl,
        client: createSqsClient(config.sqsEndpoint === undefined ? {} : { endpoint: config.sqsEndpoint }),
      });
    }),
  );
  const busName = config.eventBusName;
  const events =
    busName === undefined
      ? undefined
      : new EventPublisherOnFirstUse(
          onFirstUse(async () => {
            const [{ EventBridgePublisher }, { createEventBridgeClient }] = await Promise.all([
              import("./eventbridge-publisher"),
              import("./eventbridge-client"),
            ]);
            const client = createEventBridgeClient(
              config.eventBridgeEndpoint === undefined ? {} : { endpoint: config.eventBridgeEndpoint },
            );
            return new EventBridgePublisher({ busName, client, log });
          }),
        );
  const blobs =
    gatewayEnvironment(env).blobBucket === undefined
      ? undefined
      : new BlobStoreOnFirstUse(
          onFirstUse(async () => {
            const store = (await import("./jobs-blob-store")).jobsBlobStoreFromEnv(env);
            if (store === undefined)
              throw new Error("the job blob store needs INFERENCEKEY_BLOB_BUCKET (set by infra/)");
            return store;
          }),
        );
  return { queue, ...(events === undefined ? {} : { events }), ...(blobs === undefined ? {} : { blobs }) };
}
