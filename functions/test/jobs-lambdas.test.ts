import { CreateEventBusCommand, PutRuleCommand, PutTargetsCommand } from "@aws-sdk/client-eventbridge";
import { CreateBucketCommand, ListObjectsV2Command } from "@aws-sdk/client-s3";
import { CreateQueueCommand, DeleteMessageCommand, GetQueueAttributesCommand, ReceiveMessageCommand, type SQSClient } from "@aws-sdk/client-sqs";
import {
  awsConfigFromEnv,
  createDynamoDocumentClient,
  createEventBridgeClient,
  createS3Client,
  createSqsClient,
  DynamoStore,
  dynamoClientOptionsFromConfig,
  ensureTable,
  JOBS_ENV,
  jobsBlobStoreFromEnv,
  jobsEnvironment,
  sqsJobQueueFromEnv,
  sdkDynamoDocumentApi,
} from "@inferencekey/aws";
import {
  ensureWorkload,
  getJob,
  getWorkloadRecord,
  type JobQueue,
  listJobs,
  type PlatformContext,
  type Principal,
  readJob,
  recentEvents,
  rotateSigningSecret,
  signProducerMessage,
  submitJob,
} from "@inferencekey/core";
import type { Context, ScheduledEvent, SQSBatchResponse, SQSEvent } from "aws-lambda";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningMoto, startMoto } from "../../test/support/moto";
import { provideServerSecret } from "../../test/support/lambda-secret";

/**
 * The jobs side of the Lambda entries as deployed: built from the environment infra/queues.ts gives
 * them (DynamoDB, SQS and EventBridge on moto) and invoked as AWS would. The controller tick: queued
 * jobs are the autoscaler's demand, a job whose SendMessage failed is sent again. The consumer: the
 * real replica executor finds no replica and parks the job; a job past max_queue_seconds expires
 * and job.failed reaches the bus.
 */
const ADMIN: Principal = { tokenId: "tok_testadmin", admin: true };
const AUTOSCALING_RERANKER = {
  name: "ranker",
  slug: "ranker",
  model: "BAAI/bge-reranker-v2-m3",
  backend: "vllm",
  task_type: "reranker",
  execution_policy: "autoscaling",
  execution_policy_config: { min_workers: 0, max_workers: 2, max_hourly_cost_usd: 5, workers: { source: "cloud", cloud_pool: { gpu_pool: ["NVIDIA L4"] } } },
};

describe("jobs Lambda entries with infra's environment (moto)", () => {
  let moto: RunningMoto;
  let sqs: SQSClient;
  let queueUrl: string;
  let ctx: PlatformContext;
  let eventsUrl: string;
  let tick: (event: ScheduledEvent, context: Context) => Promise<{ reconciled: number; skipped: number; dispatched: number }>;
  let consumer: (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;

  beforeAll(async () => {
    // Prepare: the environment infra/ gives the tick, a table and a queue.
    moto = await startMoto();
    sqs = createSqsClient({ region: "us-east-1", endpoint: moto.endpoint, credentials: { accessKeyId: "local", secretAccessKey: "local" } });
    queueUrl = (await sqs.send(new CreateQueueCommand({ QueueName: "jobs" }))).QueueUrl ?? "";
    eventsUrl = (await sqs.send(new CreateQueueCommand({ QueueName: "events" }))).QueueUrl ?? "";
    const eventBridge = createEventBridgeClient({ region: "us-east-1", endpoint: moto.endpoint, credentials: { accessKeyId: "local", secretAccessKey: "local" } });
    await eventBridge.send(new CreateEventBusCommand({ Name: "inferencekey-test" }));
    await eventBridge.send(new PutRuleCommand({ Name: "failed", EventBusName: "inferencekey-test", EventPattern: JSON.stringify({ source: ["inferencekey"], "detail-type": ["job.failed", "workload.scaled"] }) }));
    const eventsArn = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: eventsUrl, AttributeNames: ["QueueArn"] }))).Attributes?.QueueArn;
    await eventBridge.send(new PutTargetsCommand({ Rule: "failed", EventBusName: "inferencekey-test", Targets: [{ Id: "q", Arn: eventsArn }] }));
    eventBridge.destroy();
    Object.assign(process.env, {
      INFERENCEKEY_TABLE: "inferencekey-test",
      INFERENCEKEY_DYNAMODB_ENDPOINT: moto.endpoint,
      [JOBS_ENV.queueUrl]: queueUrl,
      [JOBS_ENV.sqsEndpoint]: moto.endpoint,
      [JOBS_ENV.eventBus]: "inferencekey-test",
      [JOBS_ENV.eventBridgeEndpoint]: moto.endpoint,
      INFERENCEKEY_BLOB_BUCKET: "inferencekey-blobs",
      INFERENCEKEY_S3_ENDPOINT: moto.endpoint,
      AWS_REGION: "us-east-1",
      AWS_ACCESS_KEY_ID: "local",
      AWS_SECRET_ACCESS_KEY: "local",
    });
    await provideServerSecret(moto.endpoint, "/inferencekey/jobs-lambdas/server-secret", "test-server-secret");
    const s3 = createS3Client({ region: "us-east-1", endpoint: moto.endpoint, credentials: { accessKeyId: "local", secretAccessKey: "local" } });
    await s3.send(new CreateBucketCommand({ Bucket: "inferencekey-blobs" }));
    s3.destroy();
    const client = createDynamoDocumentClient(dynamoClientOptionsFromConfig(awsConfigFromEnv()));
    await ensureTable(client, "inferencekey-test");
    ctx = { store: new DynamoStore({ tableName: "inferencekey-test", client: sdkDynamoDocumentApi(client) }), serverSecret: "test-server-secret", now: () => new Date() };
    await ensureWorkload(ctx, ADMIN, "acme", AUTOSCALING_RERANKER);
    tick = (await import("../controller-tick")).handler as unknown as typeof tick;
    consumer = (await import("../jobs-consumer")).handler as unknown as typeof consumer;
  }, 60_000);

  afterAll(async () => {
    sqs?.destroy();
    await moto?.stop();
  });

  it("a reranker at zero wants no replica while idle; a job whose SendMessage failed is sent again at the next tick and asks for one (workload.scaled 0 -> 1 on the bus)", async () => {
    // Prepare: the idle tick first; then a job written a minute ago through a queue whose send failed.
    const idle = await tick({} as ScheduledEvent, {} as Context);
    const idleEvents = await recentEvents(ctx, "acme", "ranker");
    const lostSend: JobQueue = { send: async () => Promise.reject(new Error("SendMessage timed out")) };
    const earlier = { ...ctx, now: () => new Date(Date.now() - 60_000) };
    const logs: string[] = [];
    const { job } = await submitJob(
      { ctx: earlier, queue: lostSend, log: (line) => logs.push(line) },
      { workload: await getWorkloadRecord(ctx, ADMIN, "acme", "ranker"), body: { query: "q", documents: ["a", "b"] } },
    );

    // Act
    const withJob = await tick({} as ScheduledEvent, {} as Context);
    const received = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }));
    const published = (await sqs.send(new ReceiveMessageCommand({ QueueUrl: eventsUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }))).Messages ?? [];

    // Assess
    expect(idle).toEqual({ reconciled: 1, skipped: 0, dispatched: 0 });
    expect(idleEvents.some((e) => e.type === "PlacementPending")).toBe(false);
    expect(logs.join("\n")).toContain("SendMessage timed out");
    expect(withJob).toEqual({ reconciled: 1, skipped: 0, dispatched: 0 });
    expect((await recentEvents(ctx, "acme", "ranker")).find((e) => e.type === "PlacementPending")?.message).toContain("no cloud compute is configured");
    expect((received.Messages ?? []).map((m) => JSON.parse(m.Body ?? "{}"))).toEqual([{ version: 1, type: "job", job_id: job.id, project: "acme", workload: "ranker" }]);
    expect((await getJob({ ctx }, "acme", "ranker", job.id)).job.status).toBe("queued");
    expect(published.map((m) => JSON.parse(m.Body ?? "{}").detail)).toEqual([{ type: "workload.scaled", project: "acme", workload: "ranker", from: 0, to: 1, at: expect.any(String) }]);
    for (const m of received.Messages ?? []) await sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: m.ReceiptHandle }));
    for (const m of published) await sqs.send(new DeleteMessageCommand({ QueueUrl: eventsUrl, ReceiptHandle: m.ReceiptHandle }));
  }, 60_000);

  it("consumer: with no replica the job is parked (message deleted); a job past max_queue_seconds expires and job.failed reaches the bus", async () => {
    // Prepare: one fresh job, one submitted two minutes ago with a 60 s max_queue_seconds.
    const queue = sqsJobQueueFromEnv(jobsEnvironment());
    const workload = await getWorkloadRecord(ctx, ADMIN, "acme", "ranker");
    const fresh = (await submitJob({ ctx, queue }, { workload, body: { query: "q", documents: ["a"] }, idempotencyKey: "fresh" })).job;
    const earlier = { ...ctx, now: () => new Date(Date.now() - 120_000) };
    const old = (await submitJob({ ctx: earlier, queue }, { workload, body: { query: "q", documents: ["a"], max_queue_seconds: 60 }, idempotencyKey: "old" })).job;
    const received = (await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1, MessageSystemAttributeNames: ["All"] }))).Messages ?? [];
    const event: SQSEvent = {
      Records: received.map((m) => ({
        messageId: m.MessageId ?? "",
        receiptHandle: m.ReceiptHandle ?? "",
        body: m.Body ?? "",
        attributes: { ApproximateReceiveCount: m.Attributes?.ApproximateReceiveCount ?? "", SentTimestamp: "", SenderId: "", ApproximateFirstReceiveTimestamp: "" },
        messageAttributes: {},
        md5OfBody: "",
        eventSource: "aws:sqs",
        eventSourceARN: "arn:aws:sqs:us-east-1:123456789012:jobs",
        awsRegion: "us-east-1",
      })),
    };

    // Act
    const response = await consumer(event, {} as Context);
    const events = (await sqs.send(new ReceiveMessageCommand({ QueueUrl: eventsUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }))).Messages ?? [];

    // Assess
    expect(received).toHaveLength(2);
    expect(response).toEqual({ batchItemFailures: [] });
    expect((await getJob({ ctx }, "acme", "ranker", fresh.id)).job.status).toBe("waiting");
    expect((await getJob({ ctx }, "acme", "ranker", old.id)).job).toMatchObject({ status: "expired", error: { code: "max_queue_seconds_exceeded" } });
    expect(events.map((m) => JSON.parse(m.Body ?? "{}")).map((e) => [e["detail-type"], e.detail.job_id])).toEqual([["job.failed", old.id]]);
  }, 60_000);

  it("consumer: a signed producer message with an input_pointer is read from the bucket's jobs/ prefix and becomes a job", async () => {
    // Prepare: a 300 KB input stored as the deployment stores job blobs, and a message pointing at it.
    const blobs = jobsBlobStoreFromEnv();
    const pointer = `acme/ranker/file_${"P".repeat(24)}`;
    const input = { query: "q", documents: ["x".repeat(300_000)] };
    await blobs?.put(pointer, { data: Buffer.from(JSON.stringify(input)), contentType: "application/json", expiresAt: new Date(Date.now() + 3_600_000) });
    const { secret } = await rotateSigningSecret(ctx, "producer", await getWorkloadRecord(ctx, ADMIN, "acme", "ranker"));
    const message = signProducerMessage(secret, { project: "acme", workload: "ranker", idempotency_key: "pointer-1", input_pointer: pointer }, Math.floor(Date.now() / 1000));
    const record = {
      messageId: "m-pointer",
      receiptHandle: "rh",
      body: JSON.stringify(message),
      attributes: { ApproximateReceiveCount: "1", SentTimestamp: "", SenderId: "", ApproximateFirstReceiveTimestamp: "" },
      messageAttributes: {},
      md5OfBody: "",
      eventSource: "aws:sqs",
      eventSourceARN: "arn:aws:sqs:us-east-1:123456789012:jobs",
      awsRegion: "us-east-1",
    };

    // Act
    const response = await consumer({ Records: [record] }, {} as Context);
    const jobs = (await listJobs({ ctx }, "acme", "ranker", { status: "queued" })).data.filter((j) => j.idempotency_key === "pointer-1");

    // Assess: the job exists and its input (over 256 KB) is kept under jobs/ as well.
    expect(blobs).toBeDefined();
    expect(response).toEqual({ batchItemFailures: [] });
    expect(jobs).toHaveLength(1);
    const stored = await readJob(ctx, "acme", "ranker", jobs[0]?.id ?? "");
    expect(stored?.record.input_blob).toMatch(/^acme\/ranker\/file_/);
    expect(await blobs?.get(stored?.record.input_blob ?? "", new Date())).toMatchObject({ contentType: "application/json" });
    const s3 = createS3Client({ region: "us-east-1", endpoint: moto.endpoint, credentials: { accessKeyId: "local", secretAccessKey: "local" } });
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: "inferencekey-blobs", Prefix: "jobs/acme/ranker/" }));
    s3.destroy();
    expect((listed.Contents ?? []).map((o) => o.Key).sort()).toEqual([`jobs/${pointer}`, `jobs/${stored?.record.input_blob}`].sort());
  }, 60_000);
});
