import { type JobConsumerDeps, type MessageOutcome, processJobMessage } from "./consumer";
import { acceptProducerMessage } from "./producer";
import type { JobQueue } from "./queue";

/**
 * The entry every job-queue consumer calls (the SQS Lambda per record, the local loop): a direct
 * producer's `submit` message becomes a job (signature checked, idempotent by its key), a `job`
 * message runs its job (`processJobMessage`). Never throws for a bad message.
 */
export async function processQueueMessage(
  deps: JobConsumerDeps & { queue: JobQueue; allowPrivateWebhooks?: boolean; loadInputPointer?: (pointer: string) => Promise<unknown> },
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
