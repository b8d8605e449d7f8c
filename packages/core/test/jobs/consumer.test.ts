import { describe, expect, it } from "vitest";
import { type ExecutionOutcome, processJobMessage } from "../../src/jobs/consumer";
import { processQueueBatch } from "../../src/jobs/dispatch";
import { type JobMessage, JOB_MESSAGE_VERSION } from "../../src/jobs/schema";
import { getJob, maintainWorkloadJobs, submitJob } from "../../src/jobs/service";
import { readJob } from "../../src/jobs/store";
import { jobsHarness } from "./support";

const BODY = { query: "capital of france", documents: ["paris", "bananas"] };

function messageFor(id: string): string {
  const message: JobMessage = { version: JOB_MESSAGE_VERSION, type: "job", job_id: id, project: "acme", workload: "ranker" };
  return JSON.stringify(message);
}

describe("processJobMessage", () => {
  it("runs a queued job once: succeeded with its result, history and a job.succeeded event", async () => {
    // Prepare
    const h = await jobsHarness();
    const { job } = await submitJob(h.service, { workload: await h.record(), body: BODY });

    // Act
    const outcome = await processJobMessage(h.consumer, messageFor(job.id), 1);

    // Assess
    const done = (await getJob(h.service, "acme", "ranker", job.id)).job;
    expect(outcome).toBe("done");
    expect(done.status).toBe("succeeded");
    expect(done.attempts).toBe(1);
    expect(done.history.map((s) => s.status)).toEqual(["queued", "running", "succeeded"]);
    expect(done.result).toEqual(expect.objectContaining({ results: expect.any(Array) }));
    expect(h.events.events).toEqual([expect.objectContaining({ type: "job.succeeded", job_id: job.id, project: "acme", workload: "ranker" })]);
    expect(JSON.stringify(h.events.events)).not.toContain("paris");
  });

  it("a batch with a duplicate, a poison and a failing message: each settles on its own, the duplicate changes nothing", async () => {
    // Prepare: two jobs; the second one's replica call fails in a retryable way.
    const h = await jobsHarness();
    const good = (await submitJob(h.service, { workload: await h.record(), body: BODY })).job;
    const failing = (await submitJob(h.service, { workload: await h.record(), body: { ...BODY, query: "other" } })).job;
    const batch = [messageFor(good.id), messageFor(good.id), "{not json", JSON.stringify({ version: 2, type: "job" }), messageFor(failing.id)];

    // Act: the consumer handles the batch record by record (as the SQS handler does).
    const outcomes: string[] = [];
    for (const [index, body] of batch.entries()) {
      if (index === 4) h.executor.outcomes.push({ kind: "failed", retryable: true, code: "upstream_unreachable", message: "connection refused" });
      outcomes.push(await processJobMessage(h.consumer, body, 1));
    }

    // Assess: the duplicate found the job done; poison messages are dropped; the failing one is retried.
    expect(outcomes).toEqual(["done", "done", "done", "done", "retry"]);
    expect(h.executor.calls.filter((id) => id === good.id)).toHaveLength(1);
    expect((await readJob(h.platform.ctx, "acme", "ranker", good.id))?.record.attempts).toBe(1);
    const retried = (await readJob(h.platform.ctx, "acme", "ranker", failing.id))?.record;
    expect(retried?.status).toBe("queued");
    expect(retried?.error?.code).toBe("upstream_unreachable");
    expect(h.logs.filter((l) => l.includes("malformed"))).toHaveLength(2);
  });

  it("processQueueBatch reports exactly the records to receive again: the failing one and one whose store write threw", async () => {
    // Prepare: a good job, its duplicate, a poison record, a failing job, and a job whose read throws.
    const h = await jobsHarness();
    const good = (await submitJob(h.service, { workload: await h.record(), body: BODY })).job;
    const failing = (await submitJob(h.service, { workload: await h.record(), body: { ...BODY, query: "other" } })).job;
    const broken = (await submitJob(h.service, { workload: await h.record(), body: { ...BODY, query: "broken" } })).job;
    const get = h.platform.ctx.store.get.bind(h.platform.ctx.store);
    h.platform.ctx.store.get = async (pk, sk) => {
      if (sk === broken.id) throw new Error("store unavailable");
      return get(pk, sk);
    };
    h.executor.outcomes.push(
      { kind: "succeeded", result: { results: [], usage: { total_tokens: 0 } } },
      { kind: "failed", retryable: true, code: "upstream_unreachable", message: "connection refused" },
    );

    // Act
    const { batchItemFailures } = await processQueueBatch({ ...h.consumer, queue: h.queue }, [
      { messageId: "m1", body: messageFor(good.id), receiveCount: 1 },
      { messageId: "m2", body: messageFor(good.id), receiveCount: 1 },
      { messageId: "m3", body: "\u0000poison", receiveCount: 1 },
      { messageId: "m4", body: messageFor(failing.id), receiveCount: 1 },
      { messageId: "m5", body: messageFor(broken.id), receiveCount: 1 },
    ]);

    // Assess
    expect(batchItemFailures).toEqual([{ itemIdentifier: "m4" }, { itemIdentifier: "m5" }]);
    expect((await getJob(h.service, "acme", "ranker", good.id)).job.status).toBe("succeeded");
    expect(h.executor.calls).toEqual([good.id, failing.id]);
  });

  it("a retryable failure on the last receive marks the job failed (it does not sit in the DLQ), with job.failed", async () => {
    // Prepare
    const h = await jobsHarness({ maxReceives: 3 });
    const { job } = await submitJob(h.service, { workload: await h.record(), body: BODY });
    for (let i = 0; i < 3; i++) h.executor.outcomes.push({ kind: "failed", retryable: true, code: "upstream_error", message: "replica answered 500" });

    // Act
    const outcomes = [
      await processJobMessage(h.consumer, messageFor(job.id), 1),
      await processJobMessage(h.consumer, messageFor(job.id), 2),
      await processJobMessage(h.consumer, messageFor(job.id), 3),
    ];

    // Assess
    const failed = (await getJob(h.service, "acme", "ranker", job.id)).job;
    expect(outcomes).toEqual(["retry", "retry", "done"]);
    expect(failed.status).toBe("failed");
    expect(failed.attempts).toBe(3);
    expect(failed.error).toEqual({ code: "upstream_error", message: "replica answered 500 (gave up after 3 attempts)" });
    expect(h.events.events.map((e) => e.type)).toEqual(["job.failed"]);
  });

  it("a replica refusing the input fails the job at once, without retries", async () => {
    // Prepare
    const h = await jobsHarness();
    const { job } = await submitJob(h.service, { workload: await h.record(), body: BODY });
    h.executor.outcomes.push({ kind: "failed", retryable: false, code: "upstream_rejected", message: "The replica answered 400" });

    // Act
    const outcome = await processJobMessage(h.consumer, messageFor(job.id), 1);

    // Assess
    expect(outcome).toBe("done");
    expect((await getJob(h.service, "acme", "ranker", job.id)).job.status).toBe("failed");
  });

  it("a job waits through a slow start without spending receives, then runs once a replica is ready", async () => {
    // Prepare: no replica for five minutes of controller ticks.
    const h = await jobsHarness({ maxReceives: 2 });
    h.executor.ready = false;
    const scaleUps: string[] = [];
    const consumer = { ...h.consumer, requestScaleUp: (p: string, w: string) => void scaleUps.push(`${p}/${w}`) };
    const { job } = await submitJob(h.service, { workload: await h.record(), body: BODY });

    // Act: the first receive parks it; ticks every 30 s find no replica; then one is ready.
    const first = await processJobMessage(consumer, messageFor(job.id), 1);
    const parked = (await getJob(h.service, "acme", "ranker", job.id)).job.status;
    for (let tick = 0; tick < 10; tick++) {
      h.clock.advance(30_000);
      await maintainWorkloadJobs(h.service, "acme", "ranker", { replicaReady: false, staleAfterSeconds: 120, maxAttempts: 2 });
    }
    h.executor.ready = true;
    const sentBefore = h.queue.sent.length;
    const requeue = await maintainWorkloadJobs(h.service, "acme", "ranker", { replicaReady: true, staleAfterSeconds: 120, maxAttempts: 2 });
    const second = await processJobMessage(consumer, messageFor(job.id), 1);

    // Assess
    const done = (await getJob(h.service, "acme", "ranker", job.id)).job;
    expect(first).toBe("done");
    expect(parked).toBe("waiting");
    expect(scaleUps).toEqual(["acme/ranker"]);
    expect(requeue.requeued).toBe(1);
    expect(h.queue.sent.length).toBe(sentBefore + 1);
    expect(second).toBe("done");
    expect(done.status).toBe("succeeded");
    expect(done.history.map((s) => s.status)).toEqual(["queued", "waiting", "queued", "running", "succeeded"]);
  });

  it("a job still waiting after max_queue_seconds expires (job.failed), and a duplicate message for it is harmless", async () => {
    // Prepare
    const h = await jobsHarness();
    h.executor.ready = false;
    const { job } = await submitJob(h.service, { workload: await h.record(), body: { ...BODY, max_queue_seconds: 60 } });
    await processJobMessage(h.consumer, messageFor(job.id), 1);

    // Act
    h.clock.advance(61_000);
    const upkeep = await maintainWorkloadJobs(h.service, "acme", "ranker", { replicaReady: false, staleAfterSeconds: 120, maxAttempts: 3 });
    h.executor.ready = true;
    const late = await processJobMessage(h.consumer, messageFor(job.id), 1);

    // Assess
    const expired = (await getJob(h.service, "acme", "ranker", job.id)).job;
    expect(upkeep.expired).toBe(1);
    expect(expired.status).toBe("expired");
    expect(expired.error?.code).toBe("max_queue_seconds_exceeded");
    expect(late).toBe("done");
    expect(h.executor.calls).toEqual([]);
  });

  it("SendMessage failed after the job was written: the job is accepted, and the next upkeep re-sends it", async () => {
    // Prepare: a queue that fails the first send.
    const h = await jobsHarness();
    let failures = 1;
    const send = h.queue.send.bind(h.queue);
    h.queue.send = async (message, options) => {
      if (failures-- > 0) throw new Error("SQS SendMessage: service unavailable");
      await send(message, options);
    };
    const { job } = await submitJob(h.service, { workload: await h.record(), body: BODY });
    const marked = (await readJob(h.platform.ctx, "acme", "ranker", job.id))?.record.unsent;

    // Act
    const upkeep = await maintainWorkloadJobs(h.service, "acme", "ranker", { replicaReady: true, staleAfterSeconds: 900, maxAttempts: 3 });
    const again = await maintainWorkloadJobs(h.service, "acme", "ranker", { replicaReady: true, staleAfterSeconds: 900, maxAttempts: 3 });
    const [received] = await h.queue.receive({ max: 1, visibilitySeconds: 60 });
    const outcome = await processJobMessage(h.consumer, received?.body ?? "", received?.receiveCount ?? 0);

    // Assess
    expect(job.status).toBe("queued");
    expect(h.logs.some((l) => l.includes("the controller re-sends it"))).toBe(true);
    expect(marked).toBe(true);
    expect(upkeep.requeued).toBe(1);
    expect(again.requeued).toBe(0);
    expect(outcome).toBe("done");
    expect((await getJob(h.service, "acme", "ranker", job.id)).job.status).toBe("succeeded");
  });

  it("a send lost without a trace (no error, no message) is re-sent once the job has been queued staleAfterSeconds", async () => {
    // Prepare: the process "died" between writing the job and sending its message.
    const h = await jobsHarness();
    const send = h.queue.send.bind(h.queue);
    h.queue.send = async () => undefined;
    const { job } = await submitJob(h.service, { workload: await h.record(), body: BODY });
    h.queue.send = send;
    const options = { replicaReady: true, staleAfterSeconds: 600, maxAttempts: 3 };

    // Act
    const early = await maintainWorkloadJobs(h.service, "acme", "ranker", options);
    h.clock.advance(601_000);
    const stale = await maintainWorkloadJobs(h.service, "acme", "ranker", options);

    // Assess
    expect(early.requeued).toBe(0);
    expect(stale.requeued).toBe(1);
    expect(h.queue.sent.map((m) => m.type === "job" && m.job_id)).toEqual([job.id]);
  });

  it("a redelivered message takes over a running job whose consumer died (lease over), and not before", async () => {
    // Prepare: a consumer takes the job and dies mid-call (the executor never returns).
    const h = await jobsHarness();
    const { job } = await submitJob(h.service, { workload: await h.record(), body: BODY });
    const hanging = { ...h.executor, hasReadyReplica: async () => true, execute: () => new Promise<never>(() => undefined) };
    void processJobMessage({ ...h.consumer, executor: hanging, leaseSeconds: 600 }, messageFor(job.id), 1);
    await new Promise((r) => setTimeout(r, 20));

    // Act
    const during = await processJobMessage(h.consumer, messageFor(job.id), 2);
    h.clock.advance(601_000);
    const after = await processJobMessage(h.consumer, messageFor(job.id), 3);

    // Assess
    const done = (await getJob(h.service, "acme", "ranker", job.id)).job;
    expect(during).toBe("retry");
    expect(after).toBe("done");
    expect(done.status).toBe("succeeded");
    expect(done.attempts).toBe(2);
  });

  it("results over the item limit go to the blob store; the job answers them through the pointer", async () => {
    // Prepare
    const h = await jobsHarness();
    const documents = Array.from({ length: 400 }, (_, i) => `document ${i} ${"x".repeat(1000)}`);
    const { job } = await submitJob(h.service, { workload: await h.record(), body: { query: "q", documents } });

    // Act
    await processJobMessage(h.consumer, messageFor(job.id), 1);

    // Assess
    const stored = (await readJob(h.platform.ctx, "acme", "ranker", job.id))?.record;
    const read = (await getJob(h.service, "acme", "ranker", job.id)).job;
    expect(stored?.result).toBeNull();
    expect(stored?.result_blob).toMatch(/^acme\/ranker\/file_/);
    expect((read.result as { results: unknown[] }).results).toHaveLength(400);
  });

  it("without a blob store, a result over the item limit fails the job (result_too_large) instead of retrying forever", async () => {
    // Prepare
    const h = await jobsHarness();
    const { job } = await submitJob(h.service, { workload: await h.record(), body: BODY });
    const results = Array.from({ length: 300 }, (_, index) => ({ index, relevance_score: 0.5, document: { text: "x".repeat(1000) } }));
    h.executor.outcomes.push({ kind: "succeeded", result: { results, usage: { total_tokens: 1 } } });
    const { blobs: _none, ...consumer } = h.consumer;

    // Act
    const outcome = await processJobMessage(consumer, messageFor(job.id), 1);

    // Assess
    const failed = (await getJob(h.service, "acme", "ranker", job.id)).job;
    expect(outcome).toBe("done");
    expect(failed.status).toBe("failed");
    expect(failed.error?.code).toBe("result_too_large");
  });
});

describe("a consumer that stops", () => {
  it("gives a running job back to the queue, even on its last receive, and the call is cut", async () => {
    // Prepare: the executor's call hangs until it is aborted.
    const h = await jobsHarness({ maxReceives: 1 });
    const { job } = await submitJob(h.service, { workload: await h.record(), body: BODY });
    const stopping = new AbortController();
    const hanging = {
      hasReadyReplica: async () => true,
      execute: (_job: unknown, _input: unknown, _workload: unknown, signal?: AbortSignal) =>
        new Promise<ExecutionOutcome>((resolve) =>
          signal?.addEventListener("abort", () => resolve({ kind: "failed", retryable: true, code: "consumer_stopped", message: "stopped" })),
        ),
    };

    // Act
    const pending = processJobMessage({ ...h.consumer, executor: hanging, signal: stopping.signal }, messageFor(job.id), 1);
    await new Promise((r) => setTimeout(r, 20));
    stopping.abort();
    const outcome = await pending;

    // Assess
    expect(outcome).toBe("retry");
    expect((await getJob(h.service, "acme", "ranker", job.id)).job.status).toBe("queued");
  });
});
