import { batchFailureLogger, type SqsJobBatchDeps, settleJobBatch } from "@inferencekey/aws/sqs-job-consumer";
import { deliverDueWebhooks } from "@inferencekey/core";
import middy, { type MiddyfiedHandler } from "@middy/core";
import sqsPartialBatchFailure from "@middy/sqs-partial-batch-failure";
import type { SQSBatchResponse, SQSEvent } from "aws-lambda";

/** Webhook deliveries attempted after each batch (10 s each at most): the jobs it just finished, and due retries. */
export const WEBHOOKS_PER_BATCH = 20;

/**
 * The consumer as a middy handler over given dependencies (built on the first invocation, once per
 * instance): each record through core's `processQueueMessage` with its `ApproximateReceiveCount`;
 * the records to retry come back as `batchItemFailures` (ReportBatchItemFailures) and Lambda
 * deletes the rest. Then the due webhooks are delivered (the jobs just finished wrote their outbox
 * entries); a failure there is logged, never reported against the batch. Tests run this same
 * handler with their own dependencies.
 */
export function jobsConsumerHandler(
  makeDeps: () => SqsJobBatchDeps,
  log: (line: string) => void = (line) => console.error(line),
  entry: MiddyfiedHandler<SQSEvent, SQSBatchResponse> = middy<SQSEvent, SQSBatchResponse>(),
) {
  let deps: SqsJobBatchDeps | undefined;
  return entry
    .use(sqsPartialBatchFailure({ logger: batchFailureLogger(log) }))
    .handler(async (event) => {
      deps ??= makeDeps();
      const settled = await settleJobBatch(deps, event);
      const { ctx, blobs, allowPrivateWebhooks } = deps;
      await deliverDueWebhooks({ ctx, ...(blobs === undefined ? {} : { blobs }), allowPrivateWebhooks: allowPrivateWebhooks ?? false, log }, WEBHOOKS_PER_BATCH).catch(
        (error: unknown) => log(`jobs: webhook delivery failed (retried after the next batch or tick): ${error instanceof Error ? error.message : String(error)}`),
      );
      // The middleware turns the settled results into `{batchItemFailures}`.
      return settled as unknown as SQSBatchResponse;
    });
}
