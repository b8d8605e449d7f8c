import { type JobConsumerDeps, type MessageOutcome, processJobMessage } from "./consumer";
import { acceptProducerMessage } from "./producer";
import type { JobQueue } from "./queue";

/**
 * The entry every job-queue consumer calls (the SQS Lambda per record, the local loop): a direct
 * producer's `submit` message becomes a job (signature checked, idempotent by its key), a `job`
 * message runs its job (`processJobMessage`). Never throws for a bad message.
 */
export async function processQueueMessage(
  deps: JobConsumerDeps & { queue: JobQueue; allowPrivateWebhooks?: boolean; loadInputPointer?: (pointer: string, owner: { project: string; workload: string }) => Promise<unknown> },
  body: string,
  receiveCount: number,
): Promise<MessageOutcome> {
  let type: unknown;
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
    type = (parsed as { type?: unknown } | null)?.type;
  } catch {
    type = undefined;
  }
  if (type !== "submit") return processJobMessage(deps, body, receiveCount);
  const outcome = await acceptProducerMessage(deps, parsed);
  if (outcome.kind === "refused") (deps.log ?? ((line: string) => console.error(line)))(`jobs: refused a producer message: ${outcome.reason.slice(0, 300)}`);
  return "done";
}

/** One message of a batch as a queue delivers it (SQS: `messageId`, `body`, `attributes.ApproximateReceiveCount`). */
export interface BatchMessage {
  messageId: string;
  body: string;
  receiveCount: number;
}

/**
 * Handles a batch record by record, each on its own: a poison record is dropped, a failing one
 * (its job retried, or the store unreachable) does not fail the others. Returns the ids to report as
 * batch item failures (SQS `ReportBatchItemFailures`): exactly the records to receive again.
 */
export async function processQueueBatch(
  deps: Parameters<typeof processQueueMessage>[0],
  messages: readonly BatchMessage[],
): Promise<{ batchItemFailures: { itemIdentifier: string }[] }> {
  const failures: { itemIdentifier: string }[] = [];
  for (const message of messages) {
    try {
      if ((await processQueueMessage(deps, message.body, message.receiveCount)) === "retry") failures.push({ itemIdentifier: message.messageId });
    } catch (error) {
      (deps.log ?? ((line: string) => console.error(line)))(
        `jobs: message ${message.messageId.slice(0, 80)} failed (it will be retried): ${error instanceof Error ? error.message : String(error)}`,
      );
      failures.push({ itemIdentifier: message.messageId });
    }
  }
  return { batchItemFailures: failures };
}
