import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  type ExecutionOutcome,
  ensureWorkload,
  getJob,
  getWorkloadRecord,
  type JobExecutor,
  type JobRecord,
  MemoryStore,
  type PlatformContext,
  type Principal,
  submitJob,
} from "@inferencekey/core";
import { afterEach, describe, expect, it } from "vitest";
import { LocalJobRunner } from "../src/local-job-runner";
import { SqliteJobQueue } from "../src/sqlite-job-queue";

const ADMIN: Principal = { tokenId: "tok_testadmin", admin: true };

/** Every call takes `delayMs` and succeeds; records the order jobs finished and the most run at once per workload. */
class SlowExecutor implements JobExecutor {
  readonly finished: string[] = [];
  readonly running = new Map<string, number>();
  readonly peak = new Map<string, number>();
  constructor(private readonly delayMs: number) {}
  async hasReadyReplica(): Promise<boolean> {
    return true;
  }
  async execute(job: JobRecord): Promise<ExecutionOutcome> {
    const now = (this.running.get(job.workload) ?? 0) + 1;
    this.running.set(job.workload, now);
    this.peak.set(job.workload, Math.max(now, this.peak.get(job.workload) ?? 0));
    await new Promise((r) => setTimeout(r, this.delayMs));
    this.running.set(job.workload, (this.running.get(job.workload) ?? 1) - 1);
    this.finished.push(`${job.workload}:${job.id}`);
    return { kind: "succeeded", result: { results: [], usage: { total_tokens: 0 } } };
  }
}

let runner: LocalJobRunner | undefined;
afterEach(async () => {
  await runner?.stop();
  runner = undefined;
});

describe("LocalJobRunner", () => {
  it("one workload's large batch does not starve another: a per-workload in-flight cap", async () => {
    // Prepare: 24 jobs for `bulk`, then one for `small`.
    const ctx: PlatformContext = { store: new MemoryStore(), serverSecret: "runner-test-secret", now: () => new Date() };
    for (const slug of ["bulk", "small"]) {
      await ensureWorkload(ctx, ADMIN, "acme", { name: slug, slug, model: `test/${slug}`, backend: "vllm", task_type: "reranker" });
    }
    const queue = new SqliteJobQueue(join(mkdtempSync(join(tmpdir(), "ik-runner-")), "q.db"));
    const executor = new SlowExecutor(200);
    runner = new LocalJobRunner({ ctx, queue, executor, log: () => undefined, allowPrivateWebhooks: false, concurrency: 4, perWorkloadInFlight: 2, pollMs: 10 });
    const body = { query: "q", documents: ["a"] };
    const bulk = await getWorkloadRecord(ctx, ADMIN, "acme", "bulk");
    for (let i = 0; i < 24; i++) await submitJob({ ctx, queue }, { workload: bulk, body });
    const small = (await submitJob({ ctx, queue }, { workload: await getWorkloadRecord(ctx, ADMIN, "acme", "small"), body })).job;

    // Act
    runner.start();
    const deadline = Date.now() + 20_000;
    while (executor.finished.length < 25 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));

    // Assess: `small` finished long before the batch (without the cap it would be last, at 24), and
    // `bulk` never held more than its cap.
    const position = executor.finished.indexOf(`small:${small.id}`);
    expect(executor.finished).toHaveLength(25);
    expect(position).toBeGreaterThanOrEqual(0);
    expect(position, executor.finished.join(" ")).toBeLessThan(12);
    expect(executor.peak.get("bulk")).toBe(2);
    expect((await getJob({ ctx }, "acme", "small", small.id)).job.status).toBe("succeeded");
    queue.close();
  }, 30_000);
});
