import { CreateQueueCommand, ReceiveMessageCommand, type SQSClient } from "@aws-sdk/client-sqs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { awsError, fakeAwsJson } from "./support/aws-json-fake";
import { type RunningMoto, startMoto } from "../../../test/support/moto";
import { AwsJsonClient } from "../src/aws-json-client";
import { createSqsClient } from "../src/sqs-client";
import { projectTickOf, SqsProjectDispatcher } from "../src/sqs-project-dispatcher";
import { sqsBodyMd5 } from "../src/sqs-json-client";

const ticks = (n: number) => Array.from({ length: n }, (_, i) => ({ project: `p${i}`, tick: "2030-01-01T00:00:00.000Z" }));

describe("SqsProjectDispatcher (the calls it makes)", () => {
  /** SQS accepting every entry, as it answers: each message's id and its body's MD5. */
  const accepted = (input: Record<string, unknown>) => ({
    Successful: (input.Entries as { Id: string; MessageBody: string }[]).map((e) => ({ Id: e.Id, MessageId: `m-${e.Id}`, MD5OfMessageBody: sqsBodyMd5(e.MessageBody) })),
    Failed: [],
  });

  it("sends ten passes per SendMessageBatch", async () => {
    // Prepare
    const sqs = fakeAwsJson((_, input) => accepted(input));

    // Act
    await new SqsProjectDispatcher({ queueUrl: "https://q", client: sqs }).dispatch(ticks(23));

    // Assess
    expect(new Set(sqs.calls.map((c) => c.operation))).toEqual(new Set(["SendMessageBatch"]));
    const sizes = sqs.calls.map((c) => (c.input.Entries as unknown[]).length);
    expect(sizes.sort()).toEqual([10, 10, 3]);
  });

  it("sends refused entries again, and names the projects SQS refused every time", async () => {
    // Prepare: entry 1 is refused once, entry 2 always.
    const sqs = fakeAwsJson((_, input, index) => {
      const entries = input.Entries as { Id: string; MessageBody: string }[];
      const refused = (e: { Id: string }) => e.Id === "2" || (e.Id === "1" && index === 0);
      return {
        Successful: accepted({ Entries: entries.filter((e) => !refused(e)) }).Successful,
        Failed: entries.filter(refused).map((e) => ({ Id: e.Id, Code: "InternalError", SenderFault: false })),
      };
    });

    // Act
    const error = await new SqsProjectDispatcher({ queueUrl: "https://q", client: sqs }).dispatch(ticks(3)).catch((e: unknown) => e);

    // Assess
    expect(String(error)).toContain("refused the passes of 1 project(s): p2");
    const resent = sqs.calls.map((c) => (c.input.Entries as { Id: string }[]).map((e) => e.Id));
    expect(resent).toEqual([["0", "1", "2"], ["1", "2"], ["2"]]);
  });

  it("lets a failed call reach the caller with AWS's error name (throttled on every try)", async () => {
    // Prepare
    const sqs = fakeAwsJson(() => Promise.reject(awsError("RequestThrottled", "throttled")));

    // Act
    const error = await new SqsProjectDispatcher({ queueUrl: "https://q", client: sqs }).dispatch(ticks(3)).catch((e: unknown) => e);

    // Assess
    expect(error).toMatchObject({ name: "RequestThrottled", message: "throttled" });
  });

  it("fails when SQS did not receive a message intact (its MD5 differs), naming it, as the SDK's SQS client does", async () => {
    // Prepare
    const sqs = fakeAwsJson((_, input) => {
      const answer = accepted(input);
      (answer.Successful[1] as { MD5OfMessageBody: string }).MD5OfMessageBody = sqsBodyMd5("something else");
      return answer;
    });

    // Act + Assess
    await expect(new SqsProjectDispatcher({ queueUrl: "https://q", client: sqs }).dispatch(ticks(3))).rejects.toThrow("Invalid MD5 checksum on messages: m-1");
  });

  it("reads a pass back from a message body, and nothing from a malformed one", () => {
    expect(projectTickOf('{"project":"acme","tick":"2030-01-01T00:00:00.000Z"}')).toEqual({ project: "acme", tick: "2030-01-01T00:00:00.000Z" });
    for (const body of ["", "null", "[]", '{"project":1,"tick":"t"}', '{"project":"acme"}', `{"project":"${"x".repeat(64)}","tick":"t"}`, "{"]) {
      expect(projectTickOf(body)).toBeUndefined();
    }
  });
});

describe("SqsProjectDispatcher on moto server", () => {
  let moto: RunningMoto;
  let client: SQSClient;

  beforeAll(async () => {
    moto = await startMoto();
    client = createSqsClient({ region: "us-east-1", endpoint: moto.endpoint, credentials: { accessKeyId: "local", secretAccessKey: "local" } });
  }, 60_000);

  afterAll(async () => {
    client?.destroy();
    await moto?.stop();
  });

  it("every project's pass arrives on the queue, once", async () => {
    // Prepare
    const { QueueUrl } = await client.send(new CreateQueueCommand({ QueueName: "controller-projects" }));
    const dispatcher = new SqsProjectDispatcher({
      queueUrl: QueueUrl as string,
      client: new AwsJsonClient({ service: "sqs", region: "us-east-1", endpoint: moto.endpoint, credentials: { accessKeyId: "local", secretAccessKey: "local" } }),
    });

    // Act
    await dispatcher.dispatch(ticks(25));
    const received: string[] = [];
    for (let i = 0; i < 10 && received.length < 25; i++) {
      const out = await client.send(new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }));
      for (const m of out.Messages ?? []) received.push(projectTickOf(m.Body ?? "")?.project ?? "malformed");
    }

    // Assess
    expect(received.sort()).toEqual(ticks(25).map((t) => t.project).sort());
  });
});
