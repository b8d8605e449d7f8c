import { CreateQueueCommand, ReceiveMessageCommand, SendMessageBatchCommand, SQSClient } from "@aws-sdk/client-sqs";
import { mockClient } from "aws-sdk-client-mock";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type RunningMoto, startMoto } from "../../../test/support/moto";
import { createSqsClient } from "../src/sqs-client";
import { projectTickOf, SqsProjectDispatcher } from "../src/sqs-project-dispatcher";

const ticks = (n: number) => Array.from({ length: n }, (_, i) => ({ project: `p${i}`, tick: "2030-01-01T00:00:00.000Z" }));

describe("SqsProjectDispatcher (aws-sdk-client-mock)", () => {
  const client = new SQSClient({ region: "us-east-1" });
  const sqs = mockClient(client);

  beforeEach(() => sqs.reset());

  it("sends ten passes per SendMessageBatch", async () => {
    // Prepare
    sqs.on(SendMessageBatchCommand).resolves({ Successful: [], Failed: [] });

    // Act
    await new SqsProjectDispatcher({ queueUrl: "https://q", client }).dispatch(ticks(23));

    // Assess
    const sizes = sqs.commandCalls(SendMessageBatchCommand).map((c) => c.args[0].input.Entries?.length);
    expect(sizes.sort()).toEqual([10, 10, 3]);
  });

  it("sends refused entries again, and names the projects SQS refused every time", async () => {
    // Prepare: entry 1 is refused once, entry 2 always.
    let calls = 0;
    sqs.on(SendMessageBatchCommand).callsFake((input: { Entries: { Id: string }[] }) => {
      calls++;
      const failed = input.Entries.filter((e) => e.Id === "2" || (e.Id === "1" && calls === 1));
      return { Successful: [], Failed: failed.map((e) => ({ Id: e.Id, Code: "InternalError", SenderFault: false })) };
    });

    // Act
    const error = await new SqsProjectDispatcher({ queueUrl: "https://q", client }).dispatch(ticks(3)).catch((e: unknown) => e);

    // Assess
    expect(String(error)).toContain("refused the passes of 1 project(s): p2");
    const resent = sqs.commandCalls(SendMessageBatchCommand).map((c) => c.args[0].input.Entries?.map((e) => e.Id));
    expect(resent).toEqual([["0", "1", "2"], ["1", "2"], ["2"]]);
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
    const dispatcher = new SqsProjectDispatcher({ queueUrl: QueueUrl as string, client });

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
