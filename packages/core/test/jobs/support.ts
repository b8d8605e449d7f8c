import { MemoryEventPublisher } from "../../src/events/lifecycle";
import { MemoryBlobStore } from "../../src/gateway/blob-store";
import type { ExecutionOutcome, JobConsumerDeps, JobExecutor } from "../../src/jobs/consumer";
import { MemoryJobQueue } from "../../src/jobs/queue";
import type { JobInput, JobRecord } from "../../src/jobs/schema";
import type { JobsServiceDeps } from "../../src/jobs/service";
import type { Principal } from "../../src/tokens";
import { getWorkloadRecord, type WorkloadRecord } from "../../src/workloads";
import { FakeClock, TestPlatform } from "../gateway/support";

export const ADMIN: Principal = { tokenId: "tok_testadmin", admin: true };

/**
 * A scripted JobExecutor (the port's test double): `ready` says whether a replica is up, and each
 * call takes the next scripted outcome (default: a rerank result of the input's documents).
 */
export class ScriptedExecutor implements JobExecutor {
  ready = true;
  readonly outcomes: ExecutionOutcome[] = [];
  readonly calls: string[] = [];

  async hasReadyReplica(): Promise<boolean> {
    return this.ready;
  }

  async execute(job: JobRecord, input: JobInput): Promise<ExecutionOutcome> {
    this.calls.push(job.id);
    const next = this.outcomes.shift();
    if (next !== undefined) return next;
    const documents = (input as { documents?: string[] }).documents ?? [];
    return {
      kind: "succeeded",
      result: { results: documents.map((text, index) => ({ index, relevance_score: 1 - index / 10, document: { text } })), usage: { total_tokens: 1 } },
    };
  }
}

export interface JobsHarness {
  clock: FakeClock;
  platform: TestPlatform;
  queue: MemoryJobQueue;
  executor: ScriptedExecutor;
  events: MemoryEventPublisher;
  blobs: MemoryBlobStore;
  logs: string[];
  service: JobsServiceDeps;
  consumer: JobConsumerDeps;
  record(slug?: string): Promise<WorkloadRecord>;
}

/** A reranker workload `ranker` in project `acme` on a memory store, a memory queue and a scripted executor. */
export async function jobsHarness(options: { maxReceives?: number; spec?: Record<string, unknown> } = {}): Promise<JobsHarness> {
  const clock = new FakeClock();
  const platform = new TestPlatform(clock.now);
  await platform.workload("acme", { slug: "ranker", task_type: "reranker", ...options.spec });
  const queue = new MemoryJobQueue(() => clock.now().getTime());
  const executor = new ScriptedExecutor();
  const events = new MemoryEventPublisher();
  const blobs = new MemoryBlobStore({ now: clock.now });
  const logs: string[] = [];
  const log = (line: string) => logs.push(line);
  return {
    clock,
    platform,
    queue,
    executor,
    events,
    blobs,
    logs,
    service: { ctx: platform.ctx, queue, blobs, log },
    consumer: { ctx: platform.ctx, executor, blobs, events, queue, maxReceives: options.maxReceives ?? 3, log },
    record: (slug = "ranker") => getWorkloadRecord(platform.ctx, ADMIN, "acme", slug),
  };
}
