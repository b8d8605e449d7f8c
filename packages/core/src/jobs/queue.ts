import { randomBase62 } from "../ids";
import type { QueueMessage } from "./schema";

/**
 * The job queue port: the data plane sends one message per job (`{type: "job", job_id}`); direct
 * producers send `submit` messages. Adapters: SQS in AWS (`@inferencekey/aws`, consumed by a Lambda
 * with ReportBatchItemFailures), a durable SQLite queue under `npm start` (`@inferencekey/local`) and
 * an in-memory one for unit tests. Delivery is at least once: consumers must be idempotent
 * (`processJobMessage` is).
 */
export interface JobQueue {
  /** Enqueues a message; resolves once it is durably accepted. `delaySeconds` hides it that long first. */
  send(message: QueueMessage, options?: { delaySeconds?: number }): Promise<void>;
}

/** One received message: its body as sent, how many times it was received (1 the first time), a receipt to settle it. */
export interface ReceivedMessage {
  body: string;
  receiveCount: number;
  receipt: string;
}

/**
 * A queue this process also consumes (the local platform; SQS is consumed by Lambda's poller). A
 * received message is invisible for `visibilitySeconds`; deleted once handled, or made visible again
 * (`release`) for a retry. A message never settled reappears when its visibility ends.
 */
export interface ReceivingJobQueue extends JobQueue {
  receive(options: { max: number; visibilitySeconds: number }): Promise<ReceivedMessage[]>;
  delete(receipt: string): Promise<void>;
  /** Makes the message visible again after `delaySeconds` (0: now). */
  release(receipt: string, delaySeconds: number): Promise<void>;
  /** Messages waiting or in flight (for tests and the status line). */
  depth(): Promise<number>;
}

interface MemoryMessage {
  id: string;
  body: string;
  receiveCount: number;
  visibleAt: number;
  receipt: string | undefined;
}

/** An in-memory ReceivingJobQueue (unit tests, a single process): SQS's semantics without durability. */
export class MemoryJobQueue implements ReceivingJobQueue {
  private readonly messages = new Map<string, MemoryMessage>();
  /** Every message ever sent, in order (tests assert on it). */
  readonly sent: QueueMessage[] = [];

  constructor(private readonly now: () => number = () => Date.now()) {}

  async send(message: QueueMessage, options: { delaySeconds?: number } = {}): Promise<void> {
    const id = randomBase62(16);
    this.sent.push(message);
    this.messages.set(id, {
      id,
      body: JSON.stringify(message),
      receiveCount: 0,
      visibleAt: this.now() + (options.delaySeconds ?? 0) * 1000,
      receipt: undefined,
    });
  }

  async receive(options: { max: number; visibilitySeconds: number }): Promise<ReceivedMessage[]> {
    const now = this.now();
    const out: ReceivedMessage[] = [];
    for (const message of this.messages.values()) {
      if (out.length >= options.max) break;
      if (message.visibleAt > now) continue;
      message.receiveCount += 1;
      message.visibleAt = now + options.visibilitySeconds * 1000;
      message.receipt = `${message.id}.${randomBase62(8)}`;
      out.push({ body: message.body, receiveCount: message.receiveCount, receipt: message.receipt });
    }
    return out;
  }

  async delete(receipt: string): Promise<void> {
    const message = this.byReceipt(receipt);
    if (message !== undefined) this.messages.delete(message.id);
  }

  async release(receipt: string, delaySeconds: number): Promise<void> {
    const message = this.byReceipt(receipt);
    if (message !== undefined) message.visibleAt = this.now() + delaySeconds * 1000;
  }

  async depth(): Promise<number> {
    return this.messages.size;
  }

  private byReceipt(receipt: string): MemoryMessage | undefined {
    const message = this.messages.get(receipt.split(".")[0] ?? "");
    return message?.receipt === receipt ? message : undefined;
  }
}
