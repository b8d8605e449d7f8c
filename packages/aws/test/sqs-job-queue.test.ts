import { ChangeMessageVisibilityCommand, SendMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import { JOB_MESSAGE_VERSION, type ProducerMessage } from "@inferencekey/core";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import { createSqsClient } from "../src/sqs-client";
import { SQS_MAX_MESSAGE_BYTES, SqsJobQueue } from "../src/sqs-job-queue";

const QUEUE_URL = "https://sqs.us-east-1.amazonaws.com/123456789012/jobs";
const client = new SQSClient({ region: "us-east-1", credentials: { accessKeyId: "a", secretAccessKey: "b" } });
const sqs = mockClient(client);
const JOB = { version: JOB_MESSAGE_VERSION, type: "job" as const, job_id: "job_abcdef123456", project: "acme", workload: "ranker" };

function producerMessage(inputBytes: number): ProducerMessage {
  return {
    version: JOB_MESSAGE_VERSION,
    type: "submit",
    project: "acme",
    workload: "ranker",
    idempotency_key: "k1",
    input: { query: "q", documents: ["x".repeat(inputBytes)] },
    signed_at: 1_780_000_000,
    signature: "v1,AAAA",
  };
}

describe("SqsJobQueue", () => {
  beforeEach(() => sqs.reset());

  it("sends the message's JSON to its queue, with a delay when asked (whole seconds, at most 900)", async () => {
    // Prepare
    sqs.on(SendMessageCommand).resolves({ MessageId: "m1" });
    const queue = new SqsJobQueue({ queueUrl: QUEUE_URL, client });

    // Act
    await queue.send(JOB);
    await queue.send(JOB, { delaySeconds: 1.2 });
    await queue.send(JOB, { delaySeconds: 5000 });

    // Assess
    const inputs = sqs.commandCalls(SendMessageCommand).map((call) => call.args[0].input);
    expect(inputs[0]).toEqual({ QueueUrl: QUEUE_URL, MessageBody: JSON.stringify(JOB) });
    expect(JSON.parse(inputs[0]?.MessageBody ?? "")).toEqual(JOB);
    expect(inputs[1]).toEqual({ QueueUrl: QUEUE_URL, MessageBody: JSON.stringify(JOB), DelaySeconds: 2 });
    expect(inputs[2]?.DelaySeconds).toBe(900);
  });

  it("refuses a body over SQS's 1 MiB, naming input_pointer, without calling SQS; one just under goes", async () => {
    // Prepare: the envelope's size, so one message lands exactly on the limit.
    sqs.on(SendMessageCommand).resolves({ MessageId: "m1" });
    const queue = new SqsJobQueue({ queueUrl: QUEUE_URL, client });
    const envelope = Buffer.byteLength(JSON.stringify(producerMessage(0)));
    const fits = producerMessage(SQS_MAX_MESSAGE_BYTES - envelope);

    // Act
    await queue.send(fits);
    const refused = queue.send(producerMessage(SQS_MAX_MESSAGE_BYTES - envelope + 1));

    // Assess
    expect(Buffer.byteLength(JSON.stringify(fits))).toBe(SQS_MAX_MESSAGE_BYTES);
    await expect(refused).rejects.toThrow(/1048577 bytes is over SQS's 1048576-byte limit: store the input as an object and send its input_pointer/);
    expect(sqs.commandCalls(SendMessageCommand)).toHaveLength(1);
  });

  it("lets a failed SendMessage reach the caller (the job stays queued; the controller re-sends it)", async () => {
    // Prepare
    sqs.on(SendMessageCommand).rejects(Object.assign(new Error("throttled"), { name: "RequestThrottled" }));
    const queue = new SqsJobQueue({ queueUrl: QUEUE_URL, client });

    // Act + Assess
    await expect(queue.send(JOB)).rejects.toThrow("throttled");
  });

  it("retryAfter shortens a received message's visibility to the backoff", async () => {
    // Prepare
    sqs.on(ChangeMessageVisibilityCommand).resolves({});
    const queue = new SqsJobQueue({ queueUrl: QUEUE_URL, client });

    // Act
    await queue.retryAfter("receipt-1", 60);

    // Assess
    expect(sqs.commandCalls(ChangeMessageVisibilityCommand)[0]?.args[0].input).toEqual({ QueueUrl: QUEUE_URL, ReceiptHandle: "receipt-1", VisibilityTimeout: 60 });
  });
});

describe("createSqsClient", () => {
  it("applies the endpoint, retries and explicit timeouts", async () => {
    // Act
    const made = createSqsClient({ region: "eu-west-1", endpoint: "http://127.0.0.1:1", maxAttempts: 4 });

    // Assess
    expect(await made.config.region()).toBe("eu-west-1");
    expect(await made.config.maxAttempts()).toBe(4);
    expect((await made.config.endpoint?.())?.hostname).toBe("127.0.0.1");
    const handler = made.config.requestHandler as unknown as { configProvider: Promise<{ connectionTimeout: number; requestTimeout: number; throwOnRequestTimeout: boolean }> };
    expect(await handler.configProvider).toMatchObject({ connectionTimeout: 1000, requestTimeout: 3000, throwOnRequestTimeout: true });
    made.destroy();
  });
});
