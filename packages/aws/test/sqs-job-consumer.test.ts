import { type JobConsumerDeps, MemoryBlobStore, submitJob, updateJob, withStatus } from "@inferencekey/core";
import type { SQSEvent, SQSRecord } from "aws-lambda";
import { describe, expect, it } from "vitest";
import { awsError, fakeAwsJson } from "./support/aws-json-fake";
import { jobsHarness } from "../../core/test/jobs/support";
import { blobInputPointerLoader } from "../src/job-input-pointer";
import { jobConsumerDeps } from "../src/jobs-env";
import { jobsEnvironment } from "../src/jobs-from-env";
import { JOBS_ENV, JOBS_QUEUE_SETTINGS } from "../src/jobs-settings";
import { receiveCountOf, retryDelaySeconds, type SqsJobBatchDeps, settleJobBatch } from "../src/sqs-job-consumer";
import { SqsJobQueue } from "../src/sqs-job-queue";

const QUEUE_URL = "https://sqs.us-east-1.amazonaws.com/123456789012/jobs";

function record(id: string, body: string, receiveCount: string): SQSRecord {
  return {
    messageId: id,
    receiptHandle: `rh-${id}`,
    body,
    attributes: { ApproximateReceiveCount: receiveCount, SentTimestamp: "0", SenderId: "x", ApproximateFirstReceiveTimestamp: "0" },
    messageAttributes: {},
    md5OfBody: "",
    eventSource: "aws:sqs",
    eventSourceARN: "arn:aws:sqs:us-east-1:123456789012:jobs",
    awsRegion: "us-east-1",
  };
}

describe("settleJobBatch", () => {
  it("answers one settled result per record, in order; retry and thrown records are rejected and backed off with ChangeMessageVisibility", async () => {
    // Prepare: a job another consumer holds (running, lease ahead), and a store that fails on one job's reads.
    const sqs = fakeAwsJson(() => ({}));
    const h = await jobsHarness();
    const queue = new SqsJobQueue({ queueUrl: QUEUE_URL, client: sqs });
    const held = (await submitJob(h.service, { workload: await h.record(), body: { query: "q", documents: ["a"] } })).job;
    const at = h.clock.now();
    await updateJob(h.platform.ctx, "acme", "ranker", held.id, (job) =>
      withStatus(job, "running", at.toISOString(), { lease_until: new Date(at.getTime() + 600_000).toISOString(), attempts: 1 }),
    );
    const message = (id: string) => JSON.stringify({ version: 1, type: "job", job_id: id, project: "acme", workload: "ranker" });
    const store = h.platform.ctx.store;
    const failing = Object.assign(Object.create(store), {
      get: (pk: string, sk: string) => (sk.includes("job_throws0") ? Promise.reject(new Error("store down")) : store.get(pk, sk)),
    });
    const seen: number[] = [];
    const deps: SqsJobBatchDeps = {
      ...h.consumer,
      ctx: { ...h.platform.ctx, store: failing },
      queue,
      maxReceives: 5,
      retryAfter: (receipt, seconds) => {
        seen.push(seconds);
        return queue.retryAfter(receipt, seconds);
      },
    };
    const event: SQSEvent = {
      Records: [record("m1", "{not json", "1"), record("m2", message("job_throws0"), "2"), record("m3", message("job_missing"), "1"), record("m4", message(held.id), "3")],
    };

    // Act
    const settled = await settleJobBatch(deps, event);

    // Assess: the poison and the missing job are done; the store failure and the job another consumer holds are retried.
    expect(settled.map((s) => s.status)).toEqual(["fulfilled", "rejected", "fulfilled", "rejected"]);
    expect(String((settled[1] as PromiseRejectedResult).reason)).toContain("RetryLaterError: message m2 is retried (receive 2 of 5)");
    expect(String((settled[3] as PromiseRejectedResult).reason)).toContain("RetryLaterError: message m4 is retried (receive 3 of 5)");
    expect(seen).toEqual([60, 120]);
    expect(sqs.calls).toEqual([
      { operation: "ChangeMessageVisibility", input: { QueueUrl: QUEUE_URL, ReceiptHandle: "rh-m2", VisibilityTimeout: 60 } },
      { operation: "ChangeMessageVisibility", input: { QueueUrl: QUEUE_URL, ReceiptHandle: "rh-m4", VisibilityTimeout: 120 } },
    ]);
  });

  it("a failed ChangeMessageVisibility is logged; the record is still reported (it returns after the queue's timeout)", async () => {
    // Prepare
    const queue = new SqsJobQueue({ queueUrl: QUEUE_URL, client: fakeAwsJson(() => Promise.reject(awsError("ReceiptHandleIsInvalid"))) });
    const logs: string[] = [];
    const deps = {
      ctx: { store: { get: async () => Promise.reject(new Error("store down")) }, serverSecret: "s", now: () => new Date() },
      executor: {},
      queue,
      maxReceives: 5,
      log: (line: string) => logs.push(line),
      retryAfter: (receipt: string, seconds: number) => queue.retryAfter(receipt, seconds),
    } as unknown as SqsJobBatchDeps;

    // Act
    const settled = await settleJobBatch(deps, { Records: [record("m1", JSON.stringify({ version: 1, type: "job", job_id: "job_abcd", project: "a", workload: "b" }), "1")] });

    // Assess
    expect(settled.map((s) => s.status)).toEqual(["rejected"]);
    expect(logs).toEqual([
      "jobs: message m1 failed (it will be retried): store down",
      "jobs: could not shorten the visibility of m1; it returns after the queue's timeout (ReceiptHandleIsInvalid)",
    ]);
  });

  it("reads the receive count SQS reports, 1 when absent or garbled; backoff doubles from 30 s up to 15 min", () => {
    expect(receiveCountOf(record("a", "", "4"))).toBe(4);
    expect(receiveCountOf(record("a", "", ""))).toBe(1);
    expect(receiveCountOf(record("a", "", "x"))).toBe(1);
    expect([1, 2, 3, 4, 5, 6, 7].map(retryDelaySeconds)).toEqual([30, 60, 120, 240, 480, 900, 900]);
  });

  it("the queue settings keep SQS's advice: visibility at least 6x the consumer's timeout, two replica calls within it", () => {
    expect(JOBS_QUEUE_SETTINGS.visibilityTimeoutSeconds).toBeGreaterThanOrEqual(6 * JOBS_QUEUE_SETTINGS.consumerTimeoutSeconds);
    expect(2 * JOBS_QUEUE_SETTINGS.executorTimeoutMs).toBeLessThan(JOBS_QUEUE_SETTINGS.consumerTimeoutSeconds * 1000);
    expect(JOBS_QUEUE_SETTINGS.consumerTimeoutSeconds).toBeLessThanOrEqual(900);
    expect(JOBS_QUEUE_SETTINGS.visibilityTimeoutSeconds).toBeLessThanOrEqual(43_200);
  });
});

describe("jobsEnvironment and jobConsumerDeps", () => {
  it("needs the queue URL; the bus and emulator endpoints are optional", () => {
    expect(() => jobsEnvironment({})).toThrow("missing environment: INFERENCEKEY_JOBS_QUEUE_URL (set by infra/queues.ts)");
    expect(jobsEnvironment({ [JOBS_ENV.queueUrl]: QUEUE_URL, [JOBS_ENV.eventBus]: " " })).toEqual({ queueUrl: QUEUE_URL });
    expect(jobsEnvironment({ [JOBS_ENV.queueUrl]: QUEUE_URL, [JOBS_ENV.eventBus]: "bus", [JOBS_ENV.sqsEndpoint]: "http://127.0.0.1:1" })).toEqual({
      queueUrl: QUEUE_URL,
      eventBusName: "bus",
      sqsEndpoint: "http://127.0.0.1:1",
    });
  });

  it("the consumer's receive limit and lease follow the queue settings; pointers are read only with a blob store", () => {
    const ctx = { store: {}, serverSecret: "s", now: () => new Date() } as unknown as JobConsumerDeps["ctx"];
    const without = jobConsumerDeps(ctx, { queueUrl: QUEUE_URL });
    const withBlobs = jobConsumerDeps(ctx, { queueUrl: QUEUE_URL, eventBusName: "bus" }, { blobs: new MemoryBlobStore() });
    expect(without.maxReceives).toBe(JOBS_QUEUE_SETTINGS.maxReceiveCount);
    expect(without.leaseSeconds).toBe(JOBS_QUEUE_SETTINGS.consumerTimeoutSeconds);
    expect(without.events).toBeUndefined();
    expect(without.loadInputPointer).toBeUndefined();
    expect(without.allowPrivateWebhooks).toBe(false);
    expect(without.perWorkloadInFlight).toBe(JOBS_QUEUE_SETTINGS.perWorkloadInFlight);
    expect(withBlobs.events).toBeDefined();
    expect(withBlobs.loadInputPointer).toBeDefined();
  });
});

describe("blobInputPointerLoader", () => {
  const owner = { project: "acme", workload: "ranker" };
  const key = (workload: string) => `acme/${workload}/file_${"b".repeat(24)}`;

  it("reads the input's JSON from the workload's own key", async () => {
    const blobs = new MemoryBlobStore();
    await blobs.put(key("ranker"), { data: Buffer.from('{"query":"q","documents":["a"]}'), contentType: "application/json", expiresAt: new Date(Date.now() + 60_000) });
    await expect(blobInputPointerLoader(blobs, () => new Date())(key("ranker"), owner)).resolves.toEqual({ query: "q", documents: ["a"] });
  });

  it("refuses malformed, foreign, missing and non-JSON pointers as validation errors naming input_pointer", async () => {
    const blobs = new MemoryBlobStore();
    await blobs.put(key("other"), { data: Buffer.from("{}"), contentType: "application/json", expiresAt: new Date(Date.now() + 60_000) });
    await blobs.put(`acme/ranker/file_${"c".repeat(24)}`, { data: Buffer.from("not json"), contentType: "text/plain", expiresAt: new Date(Date.now() + 60_000) });
    const load = blobInputPointerLoader(blobs, () => new Date());
    const reasons = [];
    for (const pointer of ["../../etc/passwd", "s3://bucket/acme/ranker/x", key("other"), key("ranker"), `acme/ranker/file_${"c".repeat(24)}`]) {
      const error = await load(pointer, owner).then(
        () => undefined,
        (e: unknown) => e as { code: string; details: { path: string; message: string }[] },
      );
      reasons.push([error?.code, error?.details[0]?.path, error?.details[0]?.message]);
    }
    expect(reasons).toEqual([
      ["validation_failed", "input_pointer", "input_pointer is not a blob key"],
      ["validation_failed", "input_pointer", "input_pointer is not a blob key"],
      ["validation_failed", "input_pointer", "input_pointer names another workload's object"],
      ["validation_failed", "input_pointer", "input_pointer names no stored object (missing or expired)"],
      ["validation_failed", "input_pointer", "the stored input is not JSON"],
    ]);
  });
});
