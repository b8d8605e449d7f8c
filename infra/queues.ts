import { JOBS_ENV, JOBS_QUEUE_SETTINGS } from "../packages/aws/src/jobs-settings";
import { files } from "./files";
import { platformFunction, TABLE_ITEM_ACTIONS, tablePermissions } from "./functions";

// Async jobs (docs/jobs.md, "In AWS"): the job queue with its dead-letter queue, the consumer Lambda
// (ReportBatchItemFailures), and the deployment's EventBridge bus for lifecycle events. Every number
// comes from JOBS_QUEUE_SETTINGS, which the consumer's code reads too.
const settings = JOBS_QUEUE_SETTINGS;

export const jobsDeadLetterQueue = new sst.aws.Queue("JobsDeadLetter", {
  transform: { queue: { messageRetentionSeconds: settings.deadLetterRetentionSeconds, sqsManagedSseEnabled: true } },
});

// Visibility at least 6x the consumer's timeout (AWS's advice for Lambda event sources), so a batch
// still running is never handed to a second consumer; after maxReceiveCount receives, the DLQ.
export const jobsQueue = new sst.aws.Queue("Jobs", {
  visibilityTimeout: `${settings.visibilityTimeoutSeconds} seconds`,
  dlq: { queue: jobsDeadLetterQueue.arn, retry: settings.maxReceiveCount },
  transform: {
    queue: {
      messageRetentionSeconds: settings.messageRetentionSeconds,
      maxMessageSize: settings.maxMessageBytes,
      sqsManagedSseEnabled: true,
    },
  },
});

// Lifecycle events (job.succeeded, job.failed, workload.ready, workload.scaled): ids only, source
// `inferencekey`. Rules on this bus route them (docs/jobs.md, "Lifecycle events").
export const eventBus = new sst.aws.Bus("Events");

/**
 * What a function that sends jobs needs (the gateway's /v1/jobs, the controller tick's re-sends and
 * events): the queue's URL, the bus, the bucket's `jobs/` prefix (inputs and results over 256 KB;
 * files.ts must keep `jobs/` at least 31 days), and the permissions for each.
 */
export const jobsAccess = {
  environment: { [JOBS_ENV.queueUrl]: jobsQueue.url, [JOBS_ENV.eventBus]: eventBus.name, INFERENCEKEY_BLOB_BUCKET: files.name },
  permissions: [
    { actions: ["sqs:SendMessage"], resources: [jobsQueue.arn] },
    { actions: ["events:PutEvents"], resources: [eventBus.arn] },
    { actions: ["s3:PutObject", "s3:GetObject"], resources: [$interpolate`${files.arn}/jobs/*`] },
  ] as sst.aws.FunctionPermissionArgs[],
};

// Ten records per invocation, run side by side, at most `maximumConcurrency` invocations at once;
// the records the handler reports (batchItemFailures) stay on the queue, Lambda deletes the others.
export const jobsConsumer = jobsQueue.subscribe(
  platformFunction({
    service: "jobs-consumer",
    handler: "functions/jobs-consumer.handler",
    timeout: `${settings.consumerTimeoutSeconds} seconds`,
    memory: "1024 MB",
    environment: jobsAccess.environment,
    permissions: [
      ...tablePermissions(TABLE_ITEM_ACTIONS),
      ...jobsAccess.permissions,
      // Receive and delete are the event source mapping's; the consumer itself shortens a retried record's visibility.
      { actions: ["sqs:ChangeMessageVisibility"], resources: [jobsQueue.arn] },
    ],
  }),
  {
    batch: { size: settings.batchSize, partialResponses: true },
    transform: { eventSourceMapping: { scalingConfig: { maximumConcurrency: settings.maximumConcurrency } } },
  },
);

export const outputs = {
  jobsQueueUrl: jobsQueue.url,
  jobsQueueArn: jobsQueue.arn,
  jobsDeadLetterQueueUrl: jobsDeadLetterQueue.url,
  eventBusName: eventBus.name,
};
