import { type JobConsumerDeps, type JobMessage, type JobQueue, jobsInStatus, parseJobMessage, processQueueBatch } from "@inferencekey/core";
import type { SQSEvent, SQSRecord } from "aws-lambda";

export { JOBS_QUEUE_SETTINGS } from "./jobs-settings";

/** A retried message comes back after 30 s, 60 s, 120 s... (at most 15 min), not after the whole visibility timeout. */
export function retryDelaySeconds(receiveCount: number): number {
  return Math.min(900, 30 * 2 ** Math.max(0, receiveCount - 1));
}

/** The record's receive count as SQS reports it (1 on the first delivery). */
export function receiveCountOf(record: SQSRecord): number {
  const count = Number.parseInt(record.attributes.ApproximateReceiveCount, 10);
  return Number.isFinite(count) && count >= 1 ? count : 1;
}

/** A record to leave on the queue: reported as a batch item failure. */
export class RetryLaterError extends Error {
  override readonly name = "RetryLaterError";
}

export interface SqsJobBatchDeps extends JobConsumerDeps {
  queue: JobQueue;
  allowPrivateWebhooks?: boolean;
  loadInputPointer?: (pointer: string, owner: { project: string; workload: string }) => Promise<unknown>;
  /** Shortens a retried message's visibility (`SqsJobQueue.retryAfter`); without it, the queue's timeout applies. */
  retryAfter?: (receiptHandle: string, seconds: number) => Promise<void>;
  /**
   * Jobs of one workload running at once, over every consumer (counted from the jobs' status index
   * before each batch): a record over it is sent again with a delay and deleted, so a large batch
   * of one workload leaves room for the others and spends no receives. Unset: no cap.
   */
  perWorkloadInFlight?: number;
  /** How long a held-back message waits before it is received again. Default `DEFERRED_DELAY_SECONDS`. */
  deferSeconds?: number;
}

/** A job message held back by the per-workload cap comes back after this long. */
export const DEFERRED_DELAY_SECONDS = 10;

/**
 * Handles one SQS batch for the consumer Lambda: every record through core's `processQueueBatch`
 * at once (ten records of up to two 300 s replica calls each fit the function's timeout only side
 * by side), with its `ApproximateReceiveCount`. Answers one settled result per record, in order, as
 * `@middy/sqs-partial-batch-failure` takes them: a record core reports as a batch item failure (its
 * job is retried, or the store failed) is a rejection, so Lambda deletes every other record, and it
 * is made visible again after a backoff instead of the queue's whole visibility timeout.
 */
export async function settleJobBatch(deps: SqsJobBatchDeps, event: SQSEvent): Promise<PromiseSettledResult<void>[]> {
  const deferred = await overTheCap(deps, event.Records);
  return Promise.allSettled(
    event.Records.map(async (record) => {
      const held = deferred.get(record.messageId);
      if (held !== undefined) {
        // A new message (not a retry of this one): the receive count stays where the job left it.
        await deps.queue.send(held, { delaySeconds: deps.deferSeconds ?? DEFERRED_DELAY_SECONDS });
        return;
      }
      const receiveCount = receiveCountOf(record);
      const { batchItemFailures } = await processQueueBatch(deps, [{ messageId: record.messageId, body: record.body, receiveCount }]);
      if (batchItemFailures.length === 0) return;
      await backOff(deps, record, receiveCount);
      throw new RetryLaterError(`message ${record.messageId} is retried (receive ${receiveCount} of ${deps.maxReceives})`);
    }),
  );
}

/**
 * The batch's job messages beyond their workload's free slots (`perWorkloadInFlight` minus its
 * running jobs), in batch order; producer messages only create jobs and are never held.
 */
async function overTheCap(deps: SqsJobBatchDeps, records: readonly SQSRecord[]): Promise<Map<string, JobMessage>> {
  const held = new Map<string, JobMessage>();
  const cap = deps.perWorkloadInFlight;
  if (cap === undefined) return held;
  const free = new Map<string, number>();
  for (const record of records) {
    const message = parseJobMessage(record.body);
    if (message === undefined) continue;
    const id = `${message.project}/${message.workload}`;
    let slots = free.get(id);
    if (slots === undefined) {
      slots = cap - (await jobsInStatus(deps.ctx, message.project, message.workload, "running", cap)).length;
    }
    if (slots > 0) free.set(id, slots - 1);
    else {
      free.set(id, 0);
      held.set(record.messageId, message);
    }
  }
  return held;
}

async function backOff(deps: SqsJobBatchDeps, record: SQSRecord, receiveCount: number): Promise<void> {
  try {
    await deps.retryAfter?.(record.receiptHandle, retryDelaySeconds(receiveCount));
  } catch (error) {
    deps.log?.(`jobs: could not shorten the visibility of ${record.messageId}; it returns after the queue's timeout (${error instanceof Error ? error.message : String(error)})`);
  }
}

/** The partial-batch middleware's logger: the message id and the reason, never the body (it may hold an input). */
export function batchFailureLogger(log: (line: string) => void): (reason: unknown, record: SQSRecord) => void {
  return (reason, record) => {
    const text = reason instanceof Error ? `${reason.name}: ${reason.message}` : String(reason);
    log(`jobs: record ${record.messageId} left on the queue: ${text.slice(0, 300)}`);
  };
}
