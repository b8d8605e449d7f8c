import type { ProjectTick, ProjectTickDispatcher } from "@inferencekey/core";
import { type AwsJsonCaller, sqsBodyMd5, sqsJsonClient } from "./sqs-json-client";

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
 * make `dispatch` throw, naming them (the next tick covers them anyway). Calls go through
 * `AwsJsonClient` (SQS's JSON protocol), not the SDK's SQS client, whose load every tick's cold
 * start would pay.
 */
export class SqsProjectDispatcher implements ProjectTickDispatcher {
  private readonly client: AwsJsonCaller;

  /** Without a client: `sqsJsonClient` (the queue URL's host, the environment's region and credentials). */
  constructor(private readonly options: { queueUrl: string; client?: AwsJsonCaller }) {
    this.client = options.client ?? sqsJsonClient(options.queueUrl);
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
      const out = await this.client.call<SendMessageBatchOutput>("SendMessageBatch", {
        QueueUrl: this.options.queueUrl,
        Entries: pending.map(({ Id, MessageBody }) => ({ Id, MessageBody })),
      });
      checkBodies(pending, out);
      const failed = new Set((out.Failed ?? []).map((f) => f.Id));
      pending = pending.filter((entry) => failed.has(entry.Id));
    }
    return pending.map((entry) => entry.project);
  }
}

interface SendMessageBatchOutput {
  Successful?: { Id?: string; MessageId?: string; MD5OfMessageBody?: string }[];
  Failed?: { Id?: string; Code?: string; SenderFault?: boolean; Message?: string }[];
}

/** As the SDK's SQS client: a message SQS did not receive intact fails the batch, naming the messages. */
function checkBodies(sent: readonly { Id: string; MessageBody: string }[], out: SendMessageBatchOutput): void {
  const bodies = new Map(sent.map((entry) => [entry.Id, entry.MessageBody]));
  const corrupted = (out.Successful ?? []).filter((entry) => {
    const body = entry.Id === undefined ? undefined : bodies.get(entry.Id);
    return body !== undefined && entry.MD5OfMessageBody !== sqsBodyMd5(body);
  });
  if (corrupted.length > 0) throw new Error(`Invalid MD5 checksum on messages: ${corrupted.map((entry) => entry.MessageId).join(", ")}`);
}

export { projectTickOf } from "./project-tick";
