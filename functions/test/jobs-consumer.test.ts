import { spawnSync } from "node:child_process";
import * as nodeCrypto from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { CreateEventBusCommand, type EventBridgeClient, PutRuleCommand, PutTargetsCommand } from "@aws-sdk/client-eventbridge";
import * as clientSqs from "@aws-sdk/client-sqs";
import {
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  type Message,
  ReceiveMessageCommand,
  SendMessageCommand,
  type SQSClient,
} from "@aws-sdk/client-sqs";
import {
  AwsJsonClient,
  createEventBridgeClient,
  createSqsClient,
  EventBridgePublisher,
  JOBS_QUEUE_SETTINGS,
  type SqsJobBatchDeps,
  SqsJobQueue,
} from "@inferencekey/aws";
import {
  createGateway,
  type JobsServiceDeps,
  MAX_JOB_INPUT_BYTES,
  maintainWorkloadJobs,
  readJob,
  rotateSigningSecret,
  signProducerMessage,
  submitJob,
  verifyWebhook,
} from "@inferencekey/core";
import type { Context, ScheduledEvent, SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";
import { transformSync } from "esbuild";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type JobsHarness, jobsHarness } from "../../packages/core/test/jobs/support";
import { type RunningMoto, startMoto } from "../../test/support/moto";
import { jobsConsumerHandler } from "../lib/jobs-consumer-handler";

/**
 * The job queue on SQS and lifecycle events on EventBridge (moto server). The test plays Lambda's
 * SQS poller: receive a batch, call the consumer's middy handler with it as an SQS event, delete
 * every record but the reported batch item failures. moto delivers events put on a bus to an SQS
 * target, which is how published events are read back. Jobs run on core's scripted executor (the
 * executor port's test double): this suite is about the queue, not the replica call.
 */
const REPO_ROOT = join(import.meta.dirname, "../..");
const INPUT = { query: "capital of france", documents: ["paris", "bananas"] };
const CREDENTIALS = { accessKeyId: "local", secretAccessKey: "local" };
const DOCS = readFileSync(join(REPO_ROOT, "docs/jobs.md"), "utf8");

let moto: RunningMoto;
let sqs: SQSClient;
let eventBridge: EventBridgeClient;
/** The Lambda functions' own clients for the same two services (the adapters speak through them). */
let sqsCalls: AwsJsonClient;
let eventCalls: AwsJsonClient;
let counter = 0;

beforeAll(async () => {
  moto = await startMoto();
  sqs = createSqsClient({ region: "us-east-1", endpoint: moto.endpoint, credentials: CREDENTIALS });
  eventBridge = createEventBridgeClient({ region: "us-east-1", endpoint: moto.endpoint, credentials: CREDENTIALS });
  sqsCalls = new AwsJsonClient({ service: "sqs", region: "us-east-1", endpoint: moto.endpoint, credentials: CREDENTIALS });
  eventCalls = new AwsJsonClient({ service: "events", region: "us-east-1", endpoint: moto.endpoint, credentials: CREDENTIALS });
}, 60_000);

afterAll(async () => {
  sqs?.destroy();
  eventBridge?.destroy();
  await moto?.stop();
});

async function queueArn(url: string): Promise<string> {
  const out = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ["QueueArn"] }));
  return out.Attributes?.QueueArn ?? "";
}

/** A job queue with its DLQ (redrive after `maxReceiveCount`), a bus whose events land on a third queue. */
async function awsJobs(options: { maxReceiveCount?: number; visibilitySeconds?: number } = {}) {
  const name = `jobs-${++counter}`;
  const dlqUrl = (await sqs.send(new CreateQueueCommand({ QueueName: `${name}-dlq` }))).QueueUrl ?? "";
  const queueUrl =
    (
      await sqs.send(
        new CreateQueueCommand({
          QueueName: name,
          Attributes: {
            VisibilityTimeout: String(options.visibilitySeconds ?? 30),
            RedrivePolicy: JSON.stringify({ deadLetterTargetArn: await queueArn(dlqUrl), maxReceiveCount: options.maxReceiveCount ?? 3 }),
          },
        }),
      )
    ).QueueUrl ?? "";
  const eventsUrl = (await sqs.send(new CreateQueueCommand({ QueueName: `${name}-events` }))).QueueUrl ?? "";
  const busName = `${name}-bus`;
  await eventBridge.send(new CreateEventBusCommand({ Name: busName }));
  await eventBridge.send(new PutRuleCommand({ Name: `${name}-all`, EventBusName: busName, EventPattern: JSON.stringify({ source: ["inferencekey"] }) }));
  await eventBridge.send(new PutTargetsCommand({ Rule: `${name}-all`, EventBusName: busName, Targets: [{ Id: "events", Arn: await queueArn(eventsUrl) }] }));
  return { queueUrl, dlqUrl, eventsUrl, busName, arn: await queueArn(queueUrl) };
}

type Aws = Awaited<ReturnType<typeof awsJobs>>;

/** The consumer's dependencies as jobConsumerDeps builds them, on moto and core's job harness. */
function consumerDeps(h: JobsHarness, aws: Aws, maxReceives = 3): { deps: SqsJobBatchDeps; queue: SqsJobQueue; service: JobsServiceDeps } {
  const queue = new SqsJobQueue({ queueUrl: aws.queueUrl, client: sqsCalls });
  const events = new EventBridgePublisher({ busName: aws.busName, client: eventCalls, log: (line) => h.logs.push(line) });
  const deps: SqsJobBatchDeps = {
    ...h.consumer,
    queue,
    events,
    maxReceives,
    leaseSeconds: JOBS_QUEUE_SETTINGS.consumerTimeoutSeconds,
    // The real backoff starts at 30 s; one second keeps the suite short with the same call.
    retryAfter: (receipt) => queue.retryAfter(receipt, 1),
  };
  return { deps, queue, service: { ...h.service, queue } };
}

async function receive(url: string, max = 10, waitSeconds = 1): Promise<Message[]> {
  const out = await sqs.send(
    new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: max, WaitTimeSeconds: waitSeconds, MessageSystemAttributeNames: ["All"], AttributeNames: ["All"] }),
  );
  return out.Messages ?? [];
}

function sqsEvent(messages: Message[], arn: string): SQSEvent {
  return {
    Records: messages.map(
      (m): SQSRecord => ({
        messageId: m.MessageId ?? "",
        receiptHandle: m.ReceiptHandle ?? "",
        body: m.Body ?? "",
        attributes: {
          ApproximateReceiveCount: m.Attributes?.ApproximateReceiveCount ?? "",
          SentTimestamp: m.Attributes?.SentTimestamp ?? "",
          SenderId: m.Attributes?.SenderId ?? "",
          ApproximateFirstReceiveTimestamp: m.Attributes?.ApproximateFirstReceiveTimestamp ?? "",
        },
        messageAttributes: {},
        md5OfBody: m.MD5OfBody ?? "",
        eventSource: "aws:sqs",
        eventSourceARN: arn,
        awsRegion: "us-east-1",
      }),
    ),
  };
}

/** One turn of Lambda's poller: receive, invoke the handler, delete all but the reported failures. */
async function poll(deps: SqsJobBatchDeps, aws: Aws) {
  const messages = await receive(aws.queueUrl);
  if (messages.length === 0) return { received: 0, failed: [] as string[], bodies: [] as string[], counts: [] as number[] };
  const handler = jobsConsumerHandler(() => deps, (line) => deps.log?.(line));
  const response = (await handler(sqsEvent(messages, aws.arn), {} as Context)) as SQSBatchResponse;
  const failed = new Set(response.batchItemFailures.map((f) => f.itemIdentifier));
  const settled = messages.filter((m) => !failed.has(m.MessageId ?? ""));
  if (settled.length > 0) {
    await sqs.send(new DeleteMessageBatchCommand({ QueueUrl: aws.queueUrl, Entries: settled.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle ?? "" })) }));
  }
  return {
    received: messages.length,
    failed: messages.filter((m) => failed.has(m.MessageId ?? "")).map((m) => m.Body ?? ""),
    bodies: messages.map((m) => m.Body ?? ""),
    counts: messages.map((m) => Number(m.Attributes?.ApproximateReceiveCount)),
  };
}

/** Every event the bus delivered to the rule's queue so far: `[detail-type, detail]`. */
async function deliveredEvents(aws: Aws): Promise<{ type: string; source: string; detail: Record<string, unknown> }[]> {
  const out: { type: string; source: string; detail: Record<string, unknown> }[] = [];
  for (;;) {
    const messages = await receive(aws.eventsUrl, 10, 0);
    if (messages.length === 0) return out;
    for (const m of messages) {
      const event = JSON.parse(m.Body ?? "{}") as { "detail-type": string; source: string; detail: Record<string, unknown> };
      out.push({ type: event["detail-type"], source: event.source, detail: event.detail });
    }
    await sqs.send(new DeleteMessageBatchCommand({ QueueUrl: aws.eventsUrl, Entries: messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle ?? "" })) }));
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A TypeScript block of docs/jobs.md, run as written: compiled, its imports given from this process. */
function runDocsBlock(marker: string, modules: Record<string, unknown>): Record<string, unknown> {
  const block = [...DOCS.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1] ?? "").find((code) => code.includes(marker));
  if (block === undefined) throw new Error(`docs/jobs.md has no ts block with ${marker}`);
  const { code } = transformSync(block, { loader: "ts", format: "cjs" });
  const module = { exports: {} as Record<string, unknown> };
  const require = (name: string) => {
    if (!(name in modules)) throw new Error(`the docs block imports ${name}, which this test does not provide`);
    return modules[name];
  };
  new Function("module", "exports", "require", code)(module, module.exports, require);
  return module.exports;
}

const docsProducer = () => runDocsBlock("export async function sendJob", { "node:crypto": nodeCrypto, "@aws-sdk/client-sqs": clientSqs }) as {
  sendJob: (sqs: SQSClient, queueUrl: string, secret: string, job: Record<string, unknown>, storeInput?: (json: string) => Promise<string>) => Promise<Record<string, unknown>>;
  signProducerMessage: (secret: string, fields: Record<string, unknown>, signedAt?: number) => Record<string, unknown>;
};

describe("the job queue on SQS (moto): the consumer Lambda", () => {
  it("a job submitted through the API is one versioned SendMessage; the consumer runs it and job.succeeded reaches the bus's rule", async () => {
    // Prepare
    const h = await jobsHarness();
    const aws = await awsJobs();
    const { deps, service } = consumerDeps(h, aws);
    const { job } = await submitJob(service, { workload: await h.record(), body: INPUT });

    // Act
    const turn = await poll(deps, aws);

    // Assess
    expect(turn.received).toBe(1);
    expect(JSON.parse(turn.bodies[0] ?? "")).toEqual({ version: 1, type: "job", job_id: job.id, project: "acme", workload: "ranker" });
    expect(turn.failed).toEqual([]);
    expect((await readJob(h.platform.ctx, "acme", "ranker", job.id))?.record.status).toBe("succeeded");
    expect(await receive(aws.queueUrl, 10, 0)).toEqual([]);
    const events = await deliveredEvents(aws);
    expect(events).toEqual([{ type: "job.succeeded", source: "inferencekey", detail: { type: "job.succeeded", project: "acme", workload: "ranker", job_id: job.id, at: expect.any(String) } }]);
    expect(JSON.stringify(events)).not.toContain("paris");
  });

  it("a batch with a duplicate, a poison and a failing message: only the failing one stays; it succeeds on redelivery", async () => {
    // Prepare: the duplicate is a second copy of the good job's message; the failing job's first call fails retryably.
    const h = await jobsHarness();
    const aws = await awsJobs();
    const { deps, service } = consumerDeps(h, aws);
    const good = (await submitJob(service, { workload: await h.record(), body: INPUT })).job;
    const failing = (await submitJob(service, { workload: await h.record(), body: { ...INPUT, query: "other" } })).job;
    await sqs.send(new SendMessageCommand({ QueueUrl: aws.queueUrl, MessageBody: JSON.stringify({ version: 1, type: "job", job_id: good.id, project: "acme", workload: "ranker" }) }));
    await sqs.send(new SendMessageCommand({ QueueUrl: aws.queueUrl, MessageBody: "{not json" }));
    h.executor.execute = (async (job, input) => {
      h.executor.calls.push(job.id);
      if (job.id === failing.id && h.executor.calls.filter((id) => id === failing.id).length === 1) {
        return { kind: "failed", retryable: true, code: "upstream_unreachable", message: "connection refused" };
      }
      return { kind: "succeeded", result: { results: (input as typeof INPUT).documents.map((_text, index) => ({ index, relevance_score: 1 - index / 10 })), usage: { total_tokens: 1 } } };
    }) as typeof h.executor.execute;

    // Act: turns of the poller until the queue is empty (the failing one comes back after its 1 s backoff).
    const turns = [];
    for (let i = 0; i < 8; i++) {
      const turn = await poll(deps, aws);
      if (turn.received > 0) turns.push(turn);
      if ((await readJob(h.platform.ctx, "acme", "ranker", failing.id))?.record.status === "succeeded" && turn.failed.length === 0) break;
      if (turn.received === 0 || turn.failed.length > 0) await sleep(600);
    }

    // Assess: the good job ran once (whichever copy lost the take was retried and then found it done).
    expect(turns[0]?.received).toBe(4);
    expect(turns[0]?.failed.map((body) => JSON.parse(body).job_id)).toContain(failing.id);
    expect(h.executor.calls.filter((id) => id === good.id)).toHaveLength(1);
    expect(h.executor.calls.filter((id) => id === failing.id)).toHaveLength(2);
    const failingJob = (await readJob(h.platform.ctx, "acme", "ranker", failing.id))?.record;
    expect(failingJob?.status).toBe("succeeded");
    expect(failingJob?.attempts).toBe(2);
    expect((await readJob(h.platform.ctx, "acme", "ranker", good.id))?.record.attempts).toBe(1);
    expect(h.logs.filter((line) => line.includes("malformed"))).toHaveLength(1);
    expect(await receive(aws.queueUrl, 10, 0)).toEqual([]);
    expect(await receive(aws.dlqUrl, 10, 0)).toEqual([]);
    expect((await deliveredEvents(aws)).map((e) => e.type).sort()).toEqual(["job.succeeded", "job.succeeded"]);
  }, 30_000);

  it("a job failing on every receive is marked failed at the queue's maxReceiveCount (job.failed published), not left in the DLQ", async () => {
    // Prepare
    const h = await jobsHarness();
    const aws = await awsJobs({ maxReceiveCount: 3 });
    const { deps, service } = consumerDeps(h, aws, 3);
    const { job } = await submitJob(service, { workload: await h.record(), body: INPUT });
    for (let i = 0; i < 3; i++) h.executor.outcomes.push({ kind: "failed", retryable: true, code: "upstream_error", message: "replica answered 500" });

    // Act
    const counts: number[] = [];
    for (let i = 0; i < 10 && counts.length < 3; i++) {
      const turn = await poll(deps, aws);
      counts.push(...turn.counts);
      if (turn.received === 0) await sleep(500);
    }

    // Assess
    const failed = (await readJob(h.platform.ctx, "acme", "ranker", job.id))?.record;
    expect(counts).toEqual([1, 2, 3]);
    expect(failed?.status).toBe("failed");
    expect(failed?.error).toEqual({ code: "upstream_error", message: "replica answered 500 (gave up after 3 attempts)" });
    expect(await receive(aws.queueUrl, 10, 0)).toEqual([]);
    expect(await receive(aws.dlqUrl, 10, 0)).toEqual([]);
    expect((await deliveredEvents(aws)).map((e) => [e.type, e.detail.job_id])).toEqual([["job.failed", job.id]]);
  }, 30_000);

  it("a message whose handling keeps throwing (the store is down) goes to the DLQ after maxReceiveCount", async () => {
    // Prepare: every store read fails.
    const h = await jobsHarness();
    const aws = await awsJobs({ maxReceiveCount: 2 });
    const { deps, service } = consumerDeps(h, aws, 2);
    const { job } = await submitJob(service, { workload: await h.record(), body: INPUT });
    const store = h.platform.ctx.store;
    const broken = { ...deps, ctx: { ...deps.ctx, store: Object.assign(Object.create(store), { get: async () => Promise.reject(new Error("ProvisionedThroughputExceeded")) }) } };

    // Act
    const turns = [];
    for (let i = 0; i < 8; i++) {
      const turn = await poll(broken, aws);
      if (turn.received > 0) turns.push(turn);
      if (turns.length === 2) break;
      await sleep(500);
    }
    await sleep(1100);
    const redriven = await receive(aws.queueUrl, 10, 0);
    const dead = await receive(aws.dlqUrl, 10, 1);

    // Assess
    expect(turns.map((t) => t.failed.length)).toEqual([1, 1]);
    expect(redriven).toEqual([]);
    expect(dead.map((m) => JSON.parse(m.Body ?? "{}").job_id)).toEqual([job.id]);
    expect(h.logs.join("\n")).toContain("ProvisionedThroughputExceeded");
  }, 30_000);

  it("after its batch the consumer delivers the finished job's webhook, signed with the workload's whsec_ secret", async () => {
    // Prepare: a receiver on loopback (private addresses allowed for the test, as under npm start).
    const h = await jobsHarness();
    const aws = await awsJobs();
    const { deps, service } = consumerDeps(h, aws);
    deps.allowPrivateWebhooks = true;
    const received: { headers: Record<string, string | string[] | undefined>; body: string }[] = [];
    const hook = createServer((req, res) => {
      let body = "";
      req.on("data", (chunk: Buffer) => {
        body += chunk.toString();
      });
      req.on("end", () => {
        received.push({ headers: req.headers, body });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((done) => hook.listen(0, "127.0.0.1", done));
    const url = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/hooks/jobs`;
    const { secret } = await rotateSigningSecret(h.platform.ctx, "webhook", await h.record());
    const { job } = await submitJob({ ...service, allowPrivateWebhooks: true }, { workload: await h.record(), body: { ...INPUT, webhook: { url } } });

    // Act
    await poll(deps, aws);
    await new Promise<void>((done) => hook.close(() => done()));

    // Assess
    expect(received).toHaveLength(1);
    const headers = received[0]?.headers ?? {};
    const nowSeconds = Math.floor(h.clock.now().getTime() / 1000);
    expect(verifyWebhook(secret, { id: String(headers["webhook-id"]), timestamp: String(headers["webhook-timestamp"]), signature: String(headers["webhook-signature"]) }, received[0]?.body ?? "", nowSeconds)).toBe(true);
    expect(JSON.parse(received[0]?.body ?? "{}")).toMatchObject({ type: "job.succeeded", data: { id: job.id, status: "succeeded" } });
    expect((await readJob(h.platform.ctx, "acme", "ranker", job.id))?.record.webhook?.delivery).toMatchObject({ status: "delivered", attempts: 1, last_status: 204 });
  }, 30_000);

  it("one workload's large batch does not starve another: over its in-flight cap, its messages are sent again (no receive spent), the other's run", async () => {
    // Prepare: a cap of 2 per workload; six jobs of `ranker` and two of `other` in one batch.
    const h = await jobsHarness();
    await h.platform.workload("acme", { slug: "other", task_type: "reranker" });
    const aws = await awsJobs();
    const { deps, service } = consumerDeps(h, aws);
    deps.perWorkloadInFlight = 2;
    deps.deferSeconds = 1;
    const big: string[] = [];
    for (let i = 0; i < 6; i++) big.push((await submitJob(service, { workload: await h.record(), body: { ...INPUT, query: `q${i}` } })).job.id);
    const small: string[] = [];
    for (let i = 0; i < 2; i++) small.push((await submitJob(service, { workload: await h.record("other"), body: { ...INPUT, query: `o${i}` } })).job.id);
    let running = 0;
    let most = 0;
    const run = h.executor.execute.bind(h.executor);
    h.executor.execute = async (job, input) => {
      running += 1;
      most = Math.max(most, running);
      await sleep(50);
      running -= 1;
      return run(job, input);
    };

    // Act
    const first = await poll(deps, aws);
    const afterFirst = h.executor.calls.slice();
    const counts: number[] = [];
    for (let i = 0; i < 10 && h.executor.calls.length < 8; i++) {
      await sleep(1100);
      counts.push(...(await poll(deps, aws)).counts);
    }

    // Assess: the first batch ran both of `other` and two of `ranker`; the rest came back as new messages.
    expect(first).toMatchObject({ received: 8, failed: [] });
    expect(afterFirst.filter((id) => small.includes(id))).toHaveLength(2);
    expect(afterFirst.filter((id) => big.includes(id))).toHaveLength(2);
    expect(counts.every((count) => count === 1)).toBe(true);
    expect(new Set(h.executor.calls)).toEqual(new Set([...big, ...small]));
    expect(most).toBeLessThanOrEqual(4);
    expect(await receive(aws.dlqUrl, 10, 0)).toEqual([]);
  }, 30_000);

  it("a job waiting through a slow start is parked `waiting` (message deleted, one receive), re-queued when a replica is ready, and succeeds", async () => {
    // Prepare: no ready replica for now.
    const h = await jobsHarness();
    const aws = await awsJobs({ maxReceiveCount: 2 });
    const { deps, service } = consumerDeps(h, aws, 2);
    const scaleUps: string[] = [];
    deps.requestScaleUp = (project, workload) => {
      scaleUps.push(`${project}/${workload}`);
    };
    h.executor.ready = false;
    const { job } = await submitJob(service, { workload: await h.record(), body: INPUT });

    // Act: the boot takes "5 minutes": the controller's upkeep runs meanwhile, then the replica is up.
    const parked = await poll(deps, aws);
    const statusWhileBooting = (await readJob(h.platform.ctx, "acme", "ranker", job.id))?.record.status;
    h.clock.advance(150_000);
    const requeuedEarly = await maintainWorkloadJobs(service, "acme", "ranker", { replicaReady: false, staleAfterSeconds: 120, maxAttempts: 2 });
    const quiet = await receive(aws.queueUrl, 10, 0);
    h.clock.advance(150_000);
    h.executor.ready = true;
    const requeued = await maintainWorkloadJobs(service, "acme", "ranker", { replicaReady: true, staleAfterSeconds: 120, maxAttempts: 2 });
    const ran = await poll(deps, aws);

    // Assess
    expect(parked).toMatchObject({ received: 1, failed: [], counts: [1] });
    expect(statusWhileBooting).toBe("waiting");
    expect(scaleUps).toEqual(["acme/ranker"]);
    expect(requeuedEarly.requeued).toBe(0);
    expect(quiet).toEqual([]);
    expect(requeued.requeued).toBe(1);
    expect(ran).toMatchObject({ received: 1, failed: [], counts: [1] });
    const done = (await readJob(h.platform.ctx, "acme", "ranker", job.id))?.record;
    expect(done?.status).toBe("succeeded");
    expect(done?.history.map((s) => s.status)).toEqual(["queued", "waiting", "queued", "running", "succeeded"]);
    expect(await receive(aws.dlqUrl, 10, 0)).toEqual([]);
  }, 30_000);
});

interface ProducerVector {
  secret: string;
  fields: Record<string, unknown>;
  signed_at: number;
  signature: string;
}
const PRODUCER_VECTORS = JSON.parse(readFileSync(join(REPO_ROOT, "test/vectors/producer-message.json"), "utf8")) as { count: number; vectors: ProducerVector[] };

describe("direct producers on SQS (moto)", () => {
  it("core, the docs' TypeScript producer and the docs' Python producer sign the vector alike", () => {
    // Prepare
    const python = /```python\n([\s\S]*?)```/.exec(DOCS)?.[1] ?? "";
    const { signProducerMessage: docsSign } = docsProducer();

    // Act + Assess
    expect(PRODUCER_VECTORS.vectors).toHaveLength(PRODUCER_VECTORS.count);
    for (const vector of PRODUCER_VECTORS.vectors) {
      const script = `${python}\nimport sys\ntime.time = lambda: ${vector.signed_at}\nprint(sign_producer_message(sys.argv[1], json.loads(sys.argv[2]))["signature"])\n`;
      const run = spawnSync("python3", ["-c", script, vector.secret, JSON.stringify(vector.fields)], { encoding: "utf8" });
      expect(run.status, run.stderr).toBe(0);
      expect(run.stdout.trim()).toBe(vector.signature);
      expect(docsSign(vector.secret, vector.fields, vector.signed_at).signature).toBe(vector.signature);
      expect(signProducerMessage(vector.secret, vector.fields as Parameters<typeof signProducerMessage>[1], vector.signed_at).signature).toBe(vector.signature);
    }
  });

  it("the docs' TypeScript producer SendMessages a job; the consumer creates and runs it; its result is read by id through the API", async () => {
    // Prepare
    const h = await jobsHarness();
    const aws = await awsJobs();
    const { deps, queue } = consumerDeps(h, aws);
    const { secret } = await rotateSigningSecret(h.platform.ctx, "producer", await h.record());
    const { sendJob } = docsProducer();
    h.clock.current = new Date(); // the producer signs with the wall clock
    const key = await h.platform.key("acme", "ranker");
    const gateway = createGateway(h.platform.ctx, { jobs: { queue } });
    const api = (path: string) => gateway.handle(new Request(`https://gw.example/endpoint/acme/ranker/v1/${path}`, { headers: { authorization: `Bearer ${key.secret}` } }));

    // Act: the submit message becomes a job (and its job message); a second turn runs it; a resend changes nothing.
    const sent = await sendJob(sqs, aws.queueUrl, secret, { project: "acme", workload: "ranker", idempotency_key: "batch-0001", input: INPUT });
    const accepted = await poll(deps, aws);
    const ran = await poll(deps, aws);
    await sendJob(sqs, aws.queueUrl, secret, { project: "acme", workload: "ranker", idempotency_key: "batch-0001", input: INPUT });
    const resent = await poll(deps, aws);
    const listed = (await (await api("jobs?status=succeeded")).json()) as { data: { id: string }[] };
    const read = await api(`jobs/${listed.data[0]?.id}`);

    // Assess
    expect(sent).toMatchObject({ version: 1, type: "submit", project: "acme", workload: "ranker", idempotency_key: "batch-0001", signature: expect.stringMatching(/^v1,/) });
    expect(accepted.failed).toEqual([]);
    expect(JSON.parse(ran.bodies[0] ?? "{}")).toMatchObject({ type: "job" });
    expect(resent).toMatchObject({ received: 1, failed: [] });
    expect(await receive(aws.queueUrl, 10, 0)).toEqual([]);
    expect(listed.data).toHaveLength(1);
    expect(read.status).toBe(200);
    expect(await read.json()).toMatchObject({ object: "job", status: "succeeded", idempotency_key: "batch-0001", result: { results: [{ index: 0, document: { text: "paris" } }, { index: 1 }] } });
  }, 30_000);

  it("IAM access to the queue is not enough: a message signed with another workload's secret, or naming another project, makes no job", async () => {
    // Prepare: the producer holds workload `other`'s secret and writes messages for `ranker` and for project `globex`.
    const h = await jobsHarness();
    await h.platform.workload("acme", { slug: "other", task_type: "reranker" });
    await h.platform.workload("globex", { slug: "ranker", task_type: "reranker" });
    const aws = await awsJobs();
    const { deps, service } = consumerDeps(h, aws);
    await rotateSigningSecret(h.platform.ctx, "producer", await h.record());
    const { secret: otherSecret } = await rotateSigningSecret(h.platform.ctx, "producer", await h.record("other"));
    const { sendJob } = docsProducer();
    h.clock.current = new Date();

    // Act
    await sendJob(sqs, aws.queueUrl, otherSecret, { project: "acme", workload: "ranker", idempotency_key: "steal-1", input: INPUT });
    await sendJob(sqs, aws.queueUrl, otherSecret, { project: "globex", workload: "ranker", idempotency_key: "steal-2", input: INPUT });
    const turn = await poll(deps, aws);

    // Assess: both dropped (not retried), logged, nothing created anywhere.
    expect(turn).toMatchObject({ received: 2, failed: [] });
    expect(h.logs.filter((line) => line.startsWith("jobs: refused a producer message: bad signature"))).toHaveLength(2);
    expect(await receive(aws.queueUrl, 10, 0)).toEqual([]);
    const { listJobs } = await import("@inferencekey/core");
    expect((await listJobs(service, "acme", "ranker", {})).data).toEqual([]);
    expect((await listJobs(service, "globex", "ranker", {})).data).toEqual([]);
  }, 30_000);

  it("an input over the 1 MiB message goes to the blob store; the signed input_pointer is read back, and a pointer into another workload is refused", async () => {
    // Prepare: a 1.1 MB document set; the producer's storeInput writes the blob store the consumer reads.
    const h = await jobsHarness();
    await h.platform.workload("acme", { slug: "other", task_type: "reranker" });
    const aws = await awsJobs();
    const { deps, service } = consumerDeps(h, aws);
    const { blobInputPointerLoader } = await import("@inferencekey/aws");
    deps.loadInputPointer = blobInputPointerLoader(h.blobs, () => h.clock.now());
    const { secret } = await rotateSigningSecret(h.platform.ctx, "producer", await h.record());
    const { sendJob } = docsProducer();
    h.clock.current = new Date();
    // Within the 1 MiB input limit, over the 1 MiB message once the envelope and signature are added.
    const documents = Array.from({ length: 10 }, (_, i) => `${i}`.padEnd(100_000, "x"));
    const room = MAX_JOB_INPUT_BYTES - Buffer.byteLength(JSON.stringify({ query: "q", documents }));
    const big = { query: "q", documents: [...documents.slice(0, 9), `${documents[9]}${"y".repeat(room - 10)}`] };
    const storeIn = (workload: string) => async (json: string) => {
      const pointer = `acme/${workload}/file_${"A".repeat(20)}${String(++counter).padStart(4, "0")}`;
      await h.blobs.put(pointer, { data: Buffer.from(json), contentType: "application/json", expiresAt: new Date(h.clock.now().getTime() + 3_600_000) });
      return pointer;
    };

    // Act
    const sent = await sendJob(sqs, aws.queueUrl, secret, { project: "acme", workload: "ranker", idempotency_key: "big-1", input: big }, storeIn("ranker"));
    const foreign = await sendJob(sqs, aws.queueUrl, secret, { project: "acme", workload: "ranker", idempotency_key: "big-2", input: big }, storeIn("other"));
    const turn = await poll(deps, aws);
    const { listJobs } = await import("@inferencekey/core");
    const jobs = (await listJobs(service, "acme", "ranker", {})).data;

    // Assess
    expect(sent.input).toBeUndefined();
    expect(sent.input_pointer).toMatch(/^acme\/ranker\/file_/);
    expect(foreign.input_pointer).toMatch(/^acme\/other\/file_/);
    expect(turn).toMatchObject({ received: 2, failed: [] });
    expect(jobs.map((j) => j.idempotency_key)).toEqual(["big-1"]);
    expect(h.logs).toEqual([
      "jobs: refused a producer message: The message's input_pointer was refused. input_pointer: input_pointer names another workload's object",
    ]);
  }, 30_000);
});

describe("the cron recipe (docs/jobs.md) with a synthetic scheduled event", () => {
  function scheduledEvent(time: string): ScheduledEvent {
    return {
      version: "0",
      id: "d0c5ad3a-1e2b-4b8e-9f55-4f2c8f4a7e10",
      "detail-type": "Scheduled Event",
      source: "aws.events",
      account: "123456789012",
      time,
      region: "us-east-1",
      resources: ["arn:aws:events:us-east-1:123456789012:rule/NightlyRerank"],
      detail: {},
    };
  }

  it("a scheduled run submits its batch once (a doubled invocation adds nothing); the jobs wait for the replica to boot, then all succeed", async () => {
    // Prepare: the workload has no ready replica when the schedule fires (a window just opening).
    const h = await jobsHarness();
    const aws = await awsJobs();
    const { deps, service } = consumerDeps(h, aws);
    const { secret } = await rotateSigningSecret(h.platform.ctx, "producer", await h.record());
    h.clock.current = new Date();
    h.executor.ready = false;
    const producer = docsProducer();
    const { batchSubmitter } = runDocsBlock("export function batchSubmitter", { "@aws-sdk/client-sqs": clientSqs, "./producer": producer }) as {
      batchSubmitter: (run: Record<string, unknown>) => (event: ScheduledEvent) => Promise<{ submitted: number }>;
    };
    const handler = batchSubmitter({
      sqs,
      queueUrl: aws.queueUrl,
      secret,
      project: "acme",
      workload: "ranker",
      loadBatch: async () => [INPUT, { ...INPUT, query: "largest city" }, { ...INPUT, query: "river" }],
      maxQueueSeconds: 1800,
    });
    const event = scheduledEvent("2026-06-01T02:00:00Z");

    // Act: the schedule fires twice (EventBridge delivers at least once); the consumer takes the messages.
    const runs = [await handler(event), await handler(event)];
    for (let i = 0; i < 6; i++) if ((await poll(deps, aws)).received === 0) break;
    const { listJobs } = await import("@inferencekey/core");
    const waiting = (await listJobs(service, "acme", "ranker", { status: "waiting" })).data;
    h.executor.ready = true;
    const { requeued } = await maintainWorkloadJobs(service, "acme", "ranker", { replicaReady: true, staleAfterSeconds: 120, maxAttempts: 3 });
    for (let i = 0; i < 4; i++) if ((await poll(deps, aws)).received === 0) break;
    const succeeded = (await listJobs(service, "acme", "ranker", { status: "succeeded" })).data;

    // Assess
    expect(runs).toEqual([{ submitted: 3 }, { submitted: 3 }]);
    expect(waiting).toHaveLength(3);
    expect(requeued).toBe(3);
    expect(succeeded.map((j) => j.idempotency_key).sort()).toEqual([0, 1, 2].map((i) => `ranker-2026-06-01T02:00:00Z-${i}`));
    expect(succeeded.every((j) => j.max_queue_seconds === 1800)).toBe(true);
    expect((await deliveredEvents(aws)).filter((e) => e.type === "job.succeeded")).toHaveLength(3);
  }, 30_000);
});
