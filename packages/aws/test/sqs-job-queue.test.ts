import { CreateQueueCommand, GetQueueAttributesCommand, ReceiveMessageCommand, type SQSClient } from "@aws-sdk/client-sqs";
import { JOB_MESSAGE_VERSION, type ProducerMessage } from "@inferencekey/core";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { awsError, fakeAwsJson } from "./support/aws-json-fake";
import { type RunningMoto, startMoto } from "../../../test/support/moto";
import { AwsJsonClient } from "../src/aws-json-client";
import { createSqsClient } from "../src/sqs-client";
import { SQS_MAX_MESSAGE_BYTES, SqsJobQueue } from "../src/sqs-job-queue";
import { sqsBodyMd5, sqsJsonClient } from "../src/sqs-json-client";

const QUEUE_URL = "https://sqs.us-east-1.amazonaws.com/123456789012/jobs";
const JOB = { version: JOB_MESSAGE_VERSION, type: "job" as const, job_id: "job_abcdef123456", project: "acme", workload: "ranker" };
const CREDENTIALS = { accessKeyId: "local", secretAccessKey: "local" };

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

/** SQS as it answers a good SendMessage: the body's MD5, which the queue checks. */
const acceptingSqs = () =>
  fakeAwsJson((operation, input) => (operation === "SendMessage" ? { MessageId: "m1", MD5OfMessageBody: sqsBodyMd5(input.MessageBody as string) } : {}));

describe("SqsJobQueue (the calls it makes)", () => {
  it("sends the message's JSON to its queue, with a delay when asked (whole seconds, at most 900)", async () => {
    // Prepare
    const sqs = acceptingSqs();
    const queue = new SqsJobQueue({ queueUrl: QUEUE_URL, client: sqs });

    // Act
    await queue.send(JOB);
    await queue.send(JOB, { delaySeconds: 1.2 });
    await queue.send(JOB, { delaySeconds: 5000 });

    // Assess
    expect(sqs.calls.map((call) => call.operation)).toEqual(["SendMessage", "SendMessage", "SendMessage"]);
    const inputs = sqs.calls.map((call) => call.input);
    expect(inputs[0]).toEqual({ QueueUrl: QUEUE_URL, MessageBody: JSON.stringify(JOB) });
    expect(inputs[1]).toEqual({ QueueUrl: QUEUE_URL, MessageBody: JSON.stringify(JOB), DelaySeconds: 2 });
    expect(inputs[2]?.DelaySeconds).toBe(900);
  });

  it("lets a failed SendMessage reach the caller with AWS's error name (the job stays queued; the controller re-sends it)", async () => {
    // Prepare: throttled on every try the client made.
    const queue = new SqsJobQueue({ queueUrl: QUEUE_URL, client: fakeAwsJson(() => Promise.reject(awsError("RequestThrottled", "throttled"))) });

    // Act
    const error = await queue.send(JOB).catch((e: unknown) => e);

    // Assess
    expect(error).toMatchObject({ name: "RequestThrottled", message: "throttled" });
  });

  it("fails a send whose body SQS did not receive intact (its MD5 differs), as the SDK's SQS client does", async () => {
    // Prepare
    const queue = new SqsJobQueue({ queueUrl: QUEUE_URL, client: fakeAwsJson(() => ({ MessageId: "m1", MD5OfMessageBody: sqsBodyMd5("something else") })) });

    // Act + Assess
    await expect(queue.send(JOB)).rejects.toThrow("InvalidChecksumError");
  });

  it("retryAfter shortens a received message's visibility to the backoff, in whole seconds", async () => {
    // Prepare
    const sqs = acceptingSqs();
    const queue = new SqsJobQueue({ queueUrl: QUEUE_URL, client: sqs });

    // Act
    await queue.retryAfter("receipt-1", 60);
    await queue.retryAfter("receipt-2", -3.4);

    // Assess
    expect(sqs.calls).toEqual([
      { operation: "ChangeMessageVisibility", input: { QueueUrl: QUEUE_URL, ReceiptHandle: "receipt-1", VisibilityTimeout: 60 } },
      { operation: "ChangeMessageVisibility", input: { QueueUrl: QUEUE_URL, ReceiptHandle: "receipt-2", VisibilityTimeout: 0 } },
    ]);
  });
});

describe("SqsJobQueue on moto server", () => {
  let moto: RunningMoto;
  let admin: SQSClient;
  let queueUrl: string;
  let queue: SqsJobQueue;
  const receive = async (visibility?: number) =>
    (await admin.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0, ...(visibility === undefined ? {} : { VisibilityTimeout: visibility }) }))).Messages ?? [];

  beforeAll(async () => {
    moto = await startMoto();
    admin = createSqsClient({ region: "us-east-1", endpoint: moto.endpoint, credentials: CREDENTIALS });
  }, 60_000);

  beforeEach(async () => {
    await moto.reset();
    queueUrl = (await admin.send(new CreateQueueCommand({ QueueName: "jobs" }))).QueueUrl as string;
    queue = new SqsJobQueue({ queueUrl, client: new AwsJsonClient({ service: "sqs", region: "us-east-1", endpoint: moto.endpoint, credentials: CREDENTIALS }) });
  });

  afterAll(async () => {
    admin?.destroy();
    await moto?.stop();
  });

  it("a sent message arrives with its JSON body; a delayed one is held back", async () => {
    // Act
    await queue.send(JOB);
    await queue.send({ ...JOB, job_id: "job_delayed00000" }, { delaySeconds: 5000 });
    const received = await receive();
    const { Attributes } = await admin.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ["ApproximateNumberOfMessagesDelayed"] }));

    // Assess
    expect(received.map((message) => JSON.parse(message.Body ?? ""))).toEqual([JOB]);
    expect(Attributes?.ApproximateNumberOfMessagesDelayed).toBe("1");
  });

  it("refuses a body over SQS's 1 MiB, naming input_pointer, without calling SQS; one exactly at the limit goes", async () => {
    // Prepare: the envelope's size, so one message lands exactly on the limit.
    const envelope = Buffer.byteLength(JSON.stringify(producerMessage(0)));
    const fits = producerMessage(SQS_MAX_MESSAGE_BYTES - envelope);

    // Act
    await queue.send(fits);
    const refused = queue.send(producerMessage(SQS_MAX_MESSAGE_BYTES - envelope + 1));

    // Assess
    expect(Buffer.byteLength(JSON.stringify(fits))).toBe(SQS_MAX_MESSAGE_BYTES);
    await expect(refused).rejects.toThrow(/1048577 bytes is over SQS's 1048576-byte limit: store the input as an object and send its input_pointer/);
    expect((await receive()).map((message) => Buffer.byteLength(message.Body ?? ""))).toEqual([SQS_MAX_MESSAGE_BYTES]);
  });

  it("retryAfter makes a received message visible again after the given seconds, not the visibility timeout", async () => {
    // Prepare: received with a long visibility.
    await queue.send(JOB);
    const [first] = await receive(600);

    // Act
    await queue.retryAfter(first?.ReceiptHandle as string, 0);
    const again = await receive();

    // Assess
    expect(again.map((message) => message.MessageId)).toEqual([first?.MessageId]);
  });

  it("a send to a queue that does not exist fails with SQS's error name", async () => {
    // Prepare
    const missing = new SqsJobQueue({ queueUrl: `${queueUrl}-missing`, client: new AwsJsonClient({ service: "sqs", region: "us-east-1", endpoint: moto.endpoint, credentials: CREDENTIALS }) });

    // Act
    const error = await missing.send(JOB).catch((e: unknown) => e);

    // Assess
    expect(error).toMatchObject({ name: "QueueDoesNotExist" });
  });
});

describe("sqsJsonClient", () => {
  it("calls the queue URL's host unless an endpoint is configured (the option, AWS_ENDPOINT_URL_SQS, AWS_ENDPOINT_URL)", () => {
    // Prepare
    const env = { AWS_REGION: "eu-west-1" };
    const legacy = "https://eu-west-1.queue.amazonaws.com/123456789012/jobs";

    // Act
    const endpoints = [
      sqsJsonClient(QUEUE_URL, { env }),
      sqsJsonClient(legacy, { env }),
      sqsJsonClient(legacy, { env, endpoint: "http://127.0.0.1:1" }),
      sqsJsonClient(legacy, { env: { ...env, AWS_ENDPOINT_URL_SQS: "http://127.0.0.1:2" } }),
      sqsJsonClient(legacy, { env: { ...env, AWS_ENDPOINT_URL: "http://127.0.0.1:3" } }),
      sqsJsonClient("not a url", { env }),
    ].map((client) => client.target.endpoint.origin);

    // Assess
    expect(endpoints).toEqual([
      "https://sqs.us-east-1.amazonaws.com",
      "https://eu-west-1.queue.amazonaws.com",
      "http://127.0.0.1:1",
      "http://127.0.0.1:2",
      "http://127.0.0.1:3",
      "https://sqs.eu-west-1.amazonaws.com",
    ]);
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
