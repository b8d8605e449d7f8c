import type { JobQueue, QueueMessage } from "@inferencekey/core";
import { JOBS_QUEUE_SETTINGS } from "./jobs-settings";
import { type AwsJsonCaller, sqsBodyMd5, sqsJsonClient } from "./sqs-json-client";

/** SQS's largest message body (raised from 256 KiB to 1 MiB in August 2025), in bytes. */
export const SQS_MAX_MESSAGE_BYTES = JOBS_QUEUE_SETTINGS.maxMessageBytes;
/** SQS's longest `DelaySeconds`. */
export const SQS_MAX_DELAY_SECONDS = 900;

/**
 * The job queue in AWS: one `SendMessage` per message, its body the message's JSON (the schema of
 * docs/jobs.md), consumed by the jobs-consumer Lambda. Platform messages carry a job id only; a
 * direct producer's input over the limit travels as an `input_pointer` set before signing (a
 * signed message cannot be rewritten here), so a body over `SQS_MAX_MESSAGE_BYTES` is refused with
 * that advice instead of being cut or sent to fail. Calls go through `AwsJsonClient` (SQS's JSON
 * protocol), not the SDK's SQS client, whose load every cold start would pay.
 */
export class SqsJobQueue implements JobQueue {
  private readonly client: AwsJsonCaller;

  /** Without a client: `sqsJsonClient` (the queue URL's host, the environment's region and credentials). */
  constructor(private readonly options: { queueUrl: string; client?: AwsJsonCaller }) {
    this.client = options.client ?? sqsJsonClient(options.queueUrl);
  }

  async send(message: QueueMessage, options: { delaySeconds?: number } = {}): Promise<void> {
    const body = JSON.stringify(message);
    const bytes = Buffer.byteLength(body);
    if (bytes > SQS_MAX_MESSAGE_BYTES) {
      throw new Error(
        `A ${message.type} message of ${bytes} bytes is over SQS's ${SQS_MAX_MESSAGE_BYTES}-byte limit: ` +
          "store the input as an object and send its input_pointer instead (docs/jobs.md, the queue and its message schema).",
      );
    }
    const delay = Math.min(SQS_MAX_DELAY_SECONDS, Math.max(0, Math.ceil(options.delaySeconds ?? 0)));
    const out = await this.client.call<{ MD5OfMessageBody?: string }>("SendMessage", {
      QueueUrl: this.options.queueUrl,
      MessageBody: body,
      ...(delay > 0 ? { DelaySeconds: delay } : {}),
    });
    // As the SDK's SQS client: a body SQS did not receive intact fails the send.
    if (out.MD5OfMessageBody !== sqsBodyMd5(body)) throw new Error("InvalidChecksumError");
  }

  /**
   * Makes a received message visible again after `seconds` (the consumer's retry backoff), instead
   * of the queue's whole visibility timeout.
   */
  async retryAfter(receiptHandle: string, seconds: number): Promise<void> {
    await this.client.call("ChangeMessageVisibility", {
      QueueUrl: this.options.queueUrl,
      ReceiptHandle: receiptHandle,
      VisibilityTimeout: Math.max(0, Math.round(seconds)),
    });
  }
}
