import { SendMessageBatchCommand, type SQSClient } from "@aws-sdk/client-sqs";
import type { ProjectTick, ProjectTickDispatcher } from "@inferencekey/core";
import { createSqsClient } from "./sqs-client";

/** SQS's SendMessageBatch limit. */
const BATCH = 10;
/** Batches in flight at once: 500 projects are 50 batches, sent in about 5 round trips. */
const BATCHES_AT_ONCE = 10;
/** Entries SQS refused (throttled, internal error) are sent again this many times. */
const RESEND_ATTEMPTS = 3;

/**
 * Dispatches project passes as SQS messages (`{"project", "tick"}`), ten per SendMessageBatch;
 * the controller's project consumer Lambda (an SQS event source) runs them, as many at once as the
 * queue's event source allows. Delivery is at least once: a doubled pass finds its workloads'
 * leases held and skips them. A batch's refused entries are sent again; those refused every time
 * make `dispatch` throw, naming them (the next tick covers them anyway).
 */
export class SqsProjectDispatcher implements ProjectTickDispatcher {
  private readonly client: SQSClient;

  constructor(private readonly options: { queueUrl: string; client?: SQSClient }) {
    this.client = options.client ?? createSqsClient();
  }

  async dispatch(ticks: readonly ProjectTick[]): Promise<void> {
    const batches: ProjectTick[][] = [];
    for (let i = 0; i < ticks.length; i += BATCH) batches.push(ticks.slice(i, i + BATCH));
    const refused: string[] = [];
    let next = 0;
    const sender = async () => {
      while (next < batches.length) {
        refused.push(...(await this.send(batches[next++] as ProjectTick[])));
      }
    };
    await Promise.all(Array.from({ length: Math.min(BATCHES_AT_ONCE, batches.length) }, sender));
    if (refused.length > 0) throw new Error(`SQS refused the passes of ${refused.length} project(s): ${refused.slice(0, 10).join(", ")}`);
  }

  /** Sends one batch; returns the projects SQS kept refusing. */
  private async send(batch: readonly ProjectTick[]): Promise<string[]> {
    let pending = batch.map((tick, index) => ({ Id: String(index), MessageBody: JSON.stringify(tick), project: tick.project }));
    for (let attempt = 0; attempt < RESEND_ATTEMPTS && pending.length > 0; attempt++) {
      const out = await this.client.send(
        new SendMessageBatchCommand({
          QueueUrl: this.options.queueUrl,
          Entries: pending.map(({ Id, MessageBody }) => ({ Id, MessageBody })),
        }),
      );
      const failed = new Set((out.Failed ?? []).map((f) => f.Id));
      pending = pending.filter((entry) => failed.has(entry.Id));
    }
    return pending.map((entry) => entry.project);
  }
}

export { projectTickOf } from "./project-tick";
