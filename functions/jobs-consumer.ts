import { lambdaPlatformContext } from "@inferencekey/aws/env";
import { jobConsumerDeps } from "@inferencekey/aws/jobs-env";
import { jobsBlobStoreOnFirstUse, jobsEnvironment } from "@inferencekey/aws/jobs-from-env";
import type { SQSBatchResponse, SQSEvent } from "aws-lambda";
import { jobsConsumerHandler } from "./lib/jobs-consumer-handler";
import { entryTools, invokedEntry } from "./lib/lambda-entry";

/**
 * The job queue's consumer Lambda: an SQS event source with `ReportBatchItemFailures`. Its timeout,
 * the queue's visibility timeout, the DLQ and the receive limit are in infra/queues.ts, from
 * `JOBS_QUEUE_SETTINGS`.
 */
const tools = entryTools("jobs-consumer");
export const handler = jobsConsumerHandler(
  () => {
    // S3 only for inputs and results over 256 KB: its client loads then, not at every cold start.
    const blobs = jobsBlobStoreOnFirstUse();
    return jobConsumerDeps(lambdaPlatformContext(tools.secrets), jobsEnvironment(), blobs === undefined ? {} : { blobs });
  },
  (line) => tools.logger.warn(line),
  invokedEntry<SQSEvent, SQSBatchResponse>(tools),
);
