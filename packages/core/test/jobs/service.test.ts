import { describe, expect, it } from "vitest";
import { ValidationError } from "../../src/errors";
import { processJobMessage } from "../../src/jobs/consumer";
import { canTransition, JOB_STATUSES, type JobStatus, TERMINAL_STATUSES } from "../../src/jobs/schema";
import { cancelJob, getJob, JobApiError, listJobs, submitJob } from "../../src/jobs/service";
import { IllegalTransitionError, readJob, updateJob, withStatus } from "../../src/jobs/store";
import { jobsHarness } from "./support";

const BODY = { query: "capital of france", documents: ["paris", "bananas"] };

describe("job states", () => {
  it("terminal states have no way out; every live state can be cancelled, expired or failed only as documented", () => {
    // Assess
    for (const terminal of TERMINAL_STATUSES) for (const to of JOB_STATUSES) expect(canTransition(terminal, to)).toBe(false);
    expect(canTransition("queued", "cancelled")).toBe(true);
    expect(canTransition("waiting", "cancelled")).toBe(true);
    expect(canTransition("running", "cancelled")).toBe(false);
    expect(canTransition("running", "succeeded")).toBe(true);
    expect(canTransition("queued", "succeeded")).toBe(false);
  });

  it("a write that would leave a terminal state is refused, whatever the caller asks", async () => {
    // Prepare
    const h = await jobsHarness();
    const { job } = await submitJob(h.service, { workload: await h.record(), body: BODY });
    await cancelJob(h.service, "acme", "ranker", job.id);

    // Act + Assess
    for (const to of ["queued", "running", "succeeded"] as JobStatus[]) {
      await expect(updateJob(h.platform.ctx, "acme", "ranker", job.id, (current) => withStatus(current, to, "2026-06-01T10:00:00.000Z"))).rejects.toThrow(
        IllegalTransitionError,
      );
    }
  });
});

describe("submitJob", () => {
  it("the same Idempotency-Key and body give the same job; another body under that key is a 409", async () => {
    // Prepare
    const h = await jobsHarness();
    const workload = await h.record();

    // Act
    const first = await submitJob(h.service, { workload, body: BODY, idempotencyKey: "batch-7" });
    const again = await submitJob(h.service, { workload, body: { documents: ["paris", "bananas"], query: "capital of france" }, idempotencyKey: "batch-7" });
    const other = await submitJob(h.service, { workload, body: BODY, idempotencyKey: "batch-8" }).catch((e: unknown) => e);
    const reused = await submitJob(h.service, { workload, body: { ...BODY, top_n: 1 }, idempotencyKey: "batch-7" }).catch((e: unknown) => e);

    // Assess
    expect(first.created).toBe(true);
    expect(again.created).toBe(false);
    expect(again.job.id).toBe(first.job.id);
    expect(again.job.idempotency_key).toBe("batch-7");
    expect((other as { job: { id: string } }).job.id).not.toBe(first.job.id);
    expect(reused).toBeInstanceOf(JobApiError);
    expect(reused).toMatchObject({ status: 409, code: "idempotency_key_reused" });
    expect(h.queue.sent).toHaveLength(2);
  });

  it("an input over 1 MiB is a 413 payload_too_large; a bad input is a validation error naming the field", async () => {
    // Prepare
    const h = await jobsHarness();
    const workload = await h.record();

    // Act
    const big = await submitJob(h.service, { workload, body: { query: "q", documents: ["x".repeat(1024 * 1024)] } }).catch((e: unknown) => e);
    const missing = await submitJob(h.service, { workload, body: { query: "q" } }).catch((e: unknown) => e);
    const model = await submitJob(h.service, { workload, body: { ...BODY, model: "x" } }).catch((e: unknown) => e);
    const hook = await submitJob(h.service, { workload, body: { ...BODY, webhook: { url: "http://127.0.0.1/hook" } } }).catch((e: unknown) => e);

    // Assess
    expect(big).toMatchObject({ status: 413, code: "payload_too_large" });
    expect(missing).toBeInstanceOf(ValidationError);
    expect((missing as ValidationError).details.map((d) => d.path)).toEqual(["documents"]);
    expect((model as ValidationError).details[0]?.path).toBe("model");
    expect((hook as ValidationError).details[0]).toMatchObject({ path: "webhook.url", message: expect.stringContaining("https") });
    expect(h.queue.sent).toHaveLength(0);
  });

  it("an input over 256 KB goes to the blob store with a pointer; without one it is refused (413)", async () => {
    // Prepare
    const h = await jobsHarness();
    const workload = await h.record();
    const body = { query: "q", documents: ["x".repeat(300 * 1024)] };

    // Act
    const stored = (await submitJob(h.service, { workload, body })).job;
    const { blobs: _none, ...withoutBlobs } = h.service;
    const refused = await submitJob(withoutBlobs, { workload, body }).catch((e: unknown) => e);
    await processJobMessage(h.consumer, JSON.stringify({ version: 1, type: "job", job_id: stored.id, project: "acme", workload: "ranker" }), 1);

    // Assess
    const record = (await readJob(h.platform.ctx, "acme", "ranker", stored.id))?.record;
    expect(record?.input).toBeUndefined();
    expect(record?.input_blob).toMatch(/^acme\/ranker\/file_/);
    expect(record?.status).toBe("succeeded");
    expect(refused).toMatchObject({ status: 413, code: "payload_too_large", message: expect.stringContaining("no object storage") });
  });

  it("the workload's jobs block and the per-job max_queue_seconds set the limits", async () => {
    // Prepare
    const h = await jobsHarness();
    await h.platform.workload("acme", { slug: "ranker", task_type: "reranker" });
    const workload = { ...(await h.record()), spec: { ...(await h.record()).spec, jobs: { max_queue_seconds: 600, result_ttl_seconds: 3600 } } };

    // Act
    const byWorkload = (await submitJob(h.service, { workload, body: BODY })).job;
    const byJob = (await submitJob(h.service, { workload, body: { ...BODY, max_queue_seconds: 30 } })).job;

    // Assess
    expect(byWorkload.max_queue_seconds).toBe(600);
    expect(Date.parse(byWorkload.expires_at) - Date.parse(byWorkload.created_at)).toBe((600 + 3600) * 1000);
    expect(byJob.max_queue_seconds).toBe(30);
  });
});

describe("reading, listing, cancelling and retention", () => {
  it("lists newest first, filters by status and pages with signed cursors bound to the listing", async () => {
    // Prepare: five jobs a second apart, two of them cancelled.
    const h = await jobsHarness();
    const workload = await h.record();
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      ids.push((await submitJob(h.service, { workload, body: { ...BODY, query: `q${i}` } })).job.id);
      h.clock.advance(1000);
    }
    await cancelJob(h.service, "acme", "ranker", ids[1] as string);
    await cancelJob(h.service, "acme", "ranker", ids[3] as string);

    // Act
    const first = await listJobs(h.service, "acme", "ranker", { limit: 2 });
    const second = await listJobs(h.service, "acme", "ranker", { limit: 2, cursor: first.next_cursor as string });
    const cancelled = await listJobs(h.service, "acme", "ranker", { status: "cancelled" });
    const forged = await listJobs(h.service, "acme", "ranker", { limit: 2, cursor: `${first.next_cursor}x` }).catch((e: unknown) => e);
    const otherListing = await listJobs(h.service, "acme", "ranker", { status: "queued", cursor: first.next_cursor as string }).catch((e: unknown) => e);
    const badStatus = await listJobs(h.service, "acme", "ranker", { status: "done" }).catch((e: unknown) => e);

    // Assess
    expect(first.object).toBe("list");
    expect(first.data.map((j) => j.id)).toEqual([ids[4], ids[3]]);
    expect(second.data.map((j) => j.id)).toEqual([ids[2], ids[1]]);
    expect(cancelled.data.map((j) => j.id)).toEqual([ids[3], ids[1]]);
    expect(cancelled.next_cursor).toBeNull();
    expect(forged).toBeInstanceOf(ValidationError);
    expect(otherListing).toBeInstanceOf(ValidationError);
    expect((badStatus as ValidationError).details[0]?.path).toBe("status");
  });

  it("cancels while queued or waiting; a running or finished job is 409 job_not_cancellable; cancelling twice answers the cancelled job", async () => {
    // Prepare
    const h = await jobsHarness();
    const workload = await h.record();
    const queued = (await submitJob(h.service, { workload, body: BODY })).job;
    const finished = (await submitJob(h.service, { workload, body: { ...BODY, query: "x" } })).job;
    await processJobMessage(h.consumer, JSON.stringify({ version: 1, type: "job", job_id: finished.id, project: "acme", workload: "ranker" }), 1);

    // Act
    const cancelled = await cancelJob(h.service, "acme", "ranker", queued.id);
    const twice = await cancelJob(h.service, "acme", "ranker", queued.id);
    const refused = await cancelJob(h.service, "acme", "ranker", finished.id).catch((e: unknown) => e);
    const missing = await cancelJob(h.service, "acme", "ranker", "job_doesnotexist000").catch((e: unknown) => e);

    // Assess
    expect(cancelled.status).toBe("cancelled");
    expect(cancelled.finished_at).not.toBeNull();
    expect(twice.status).toBe("cancelled");
    expect(refused).toMatchObject({ status: 409, code: "job_not_cancellable" });
    expect(missing).toMatchObject({ status: 404, code: "job_not_found" });
  });

  it("a finished job is kept result_ttl_seconds (7 days by default), then reads as job_not_found and leaves listings", async () => {
    // Prepare
    const h = await jobsHarness();
    const { job } = await submitJob(h.service, { workload: await h.record(), body: BODY });
    await processJobMessage(h.consumer, JSON.stringify({ version: 1, type: "job", job_id: job.id, project: "acme", workload: "ranker" }), 1);
    const done = (await getJob(h.service, "acme", "ranker", job.id)).job;

    // Act
    h.clock.advance(604_800_000 - 1000);
    const lastDay = await getJob(h.service, "acme", "ranker", job.id);
    h.clock.advance(2000);
    const gone = await getJob(h.service, "acme", "ranker", job.id).catch((e: unknown) => e);
    const listed = await listJobs(h.service, "acme", "ranker", {});

    // Assess
    expect(Date.parse(done.expires_at) - Date.parse(done.finished_at as string)).toBe(604_800_000);
    expect(lastDay.job.status).toBe("succeeded");
    expect(gone).toMatchObject({ status: 404, code: "job_not_found" });
    expect(listed.data).toEqual([]);
  });
});
