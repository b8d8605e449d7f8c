import { CreateQueueCommand, ReceiveMessageCommand } from "@aws-sdk/client-sqs";
import { awsConfigFromEnv, createDynamoDocumentClient, createSqsClient, DynamoStore, dynamoClientOptionsFromConfig, ensureTable, sdkDynamoDocumentApi } from "@inferencekey/aws";
import { authenticateSdkToken, bootstrapAdminToken, createProject, ensureWorkload, type PlatformContext, readControllerState } from "@inferencekey/core";
import type { Context, ScheduledEvent, SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { provideServerSecret } from "../../test/support/lambda-secret";
import { type RunningMoto, startMoto } from "../../test/support/moto";

/**
 * The fanned-out controller as deployed: the tick (EventBridge) sends one SQS message per project,
 * the project consumer (an SQS event source) runs them; DynamoDB and SQS both on moto server.
 */
describe("controller tick fanned out through SQS (moto server)", () => {
  let moto: RunningMoto;
  let ctx: PlatformContext;
  let queueUrl: string;
  const sqs = () => createSqsClient({ region: "us-east-1", endpoint: moto.endpoint, credentials: { accessKeyId: "local", secretAccessKey: "local" } });

  beforeAll(async () => {
    moto = await startMoto();
    const client = sqs();
    queueUrl = (await client.send(new CreateQueueCommand({ QueueName: "controller-projects" }))).QueueUrl as string;
    client.destroy();
    Object.assign(process.env, {
      INFERENCEKEY_TABLE: "inferencekey-fanout",
      INFERENCEKEY_DYNAMODB_ENDPOINT: moto.endpoint,
      INFERENCEKEY_SQS_ENDPOINT: moto.endpoint,
      INFERENCEKEY_CONTROLLER_QUEUE_URL: queueUrl,
      AWS_REGION: "us-east-1",
      AWS_ACCESS_KEY_ID: "local",
      AWS_SECRET_ACCESS_KEY: "local",
    });
    await provideServerSecret(moto.endpoint, "/inferencekey/fanout/server-secret", "fanout-secret-0123456789");
    const documents = createDynamoDocumentClient(dynamoClientOptionsFromConfig(awsConfigFromEnv()));
    await ensureTable(documents, "inferencekey-fanout");
    ctx = { store: new DynamoStore({ tableName: "inferencekey-fanout", client: sdkDynamoDocumentApi(documents) }), serverSecret: "fanout-secret-0123456789", now: () => new Date() };
    const admin = await authenticateSdkToken(ctx, `Bearer ${(await bootstrapAdminToken(ctx))?.secret}`);
    for (const project of ["alpha", "beta", "gamma"]) {
      await createProject(ctx, admin, { slug: project });
      for (const slug of ["one", "two"]) await ensureWorkload(ctx, admin, project, { name: slug, slug, model: "m/m", backend: "vllm" });
    }
  }, 60_000);

  afterAll(async () => {
    await moto?.stop();
  });

  it("the tick dispatches one message per project; the consumer reconciles each project's workloads; a malformed message is dropped", async () => {
    // Prepare
    const tick = (await import("../controller-tick")).handler as unknown as (e: ScheduledEvent, c: Context) => Promise<{ dispatched: number; reconciled: number }>;
    const consume = (await import("../controller-project")).handler as unknown as (e: SQSEvent, c: Context) => Promise<SQSBatchResponse>;

    // Act
    const ticked = await tick({} as ScheduledEvent, {} as Context);
    const client = sqs();
    const records: SQSRecord[] = [];
    for (let i = 0; i < 10 && records.length < 3; i++) {
      const out = await client.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10 }));
      for (const m of out.Messages ?? []) records.push({ messageId: m.MessageId, body: m.Body } as SQSRecord);
    }
    client.destroy();
    records.push({ messageId: "junk", body: "not a pass" } as SQSRecord);
    const consumed = await consume({ Records: records }, {} as Context);

    // Assess
    expect(ticked).toMatchObject({ dispatched: 3, reconciled: 0 });
    expect(records).toHaveLength(4);
    expect(consumed).toEqual({ batchItemFailures: [] });
    for (const project of ["alpha", "beta", "gamma"]) {
      for (const slug of ["one", "two"]) expect((await readControllerState(ctx, project, slug))?.decision).toBeDefined();
    }
  });
});
