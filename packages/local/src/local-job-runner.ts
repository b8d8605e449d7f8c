import {
  type BlobStore,
  deliverDueWebhooks,
  type EventPublisher,
  hasReadyReplica,
  type JobExecutor,
  type JobRecord,
  keys,
  maintainAllJobs,
  type PlatformContext,
  processQueueMessage,
  type ReconcileOutcome,
  type WorkloadRecord,
} from "@inferencekey/core";
import type { SqliteJobQueue } from "./sqlite-job-queue";

export interface LocalJobRunnerOptions {
  ctx: PlatformContext;
  queue: SqliteJobQueue;
  executor: JobExecutor & { invalidate?(project: string, workload: string): void };
  blobs?: BlobStore;
  events?: EventPublisher;
  log: (line: string) => void;
  allowPrivateWebhooks: boolean;
  /** No replica was ready for a job: ask the controller for one. */
  requestScaleUp?: (project: string, workload: string, incarnation: string) => void | Promise<void>;
  /** A job changed (wakes long polls). */
  onJobChange?: (job: JobRecord) => void;
  /** Jobs run at once, over every workload. Default 8. */
  concurrency?: number;
  /** Jobs of one workload run at once: a large batch leaves room for the others. Default 4. */
  perWorkloadInFlight?: number;
  /** Receives before a job is failed (the queue's maxReceiveCount). Default 5. */
  maxReceives?: number;
  /** How long a received message stays invisible (must outlast a job's call). Default 360. */
  visibilitySeconds?: number;
  /** A taken job's lease. Default 330 (the executor's 300 s timeout and some margin). */
  leaseSeconds?: number;
  /** Re-send a queued job that has not started this long after it was sent (a send lost without a trace). Default 600. */
  staleAfterSeconds?: number;
  /** How often the queue is polled when idle. Default 200 ms. */
  pollMs?: number;
  /** How often the upkeep (re-enqueue, expiry) and webhook deliveries run. Default 1000 ms. */
  maintenanceMs?: number;
}

/**
 * The local platform's consumer of the job queue (what the SQS-triggered Lambda is in AWS) and the
 * controller's job upkeep: a loop receives messages and runs `processQueueMessage` for each, at most
 * `concurrency` at once and `perWorkloadInFlight` per workload; a timer re-enqueues lost and waiting
 * jobs, expires old ones and delivers webhooks. Lifecycle events go to the events log.
 */
export class LocalJobRunner {
  private readonly inFlight = new Map<string, number>();
  private active = 0;
  private stopped = false;
  private pumpTimer: NodeJS.Timeout | undefined;
  private maintenanceTimer: NodeJS.Timeout | undefined;
  private maintaining: Promise<void> = Promise.resolve();
  private delivering: Promise<void> | undefined;
  private readonly running = new Set<Promise<void>>();
  /** Aborted by stop(): running calls are cut, their jobs go back to the queue. */
  private readonly stopping = new AbortController();
  /** Ready replica counts last seen per workload, to publish workload.ready once per 0 -> n. */
  private readonly readySeen = new Map<string, boolean>();
  /** Desired replicas last decided per workload, to publish workload.scaled on a change. */
  private readonly desiredSeen = new Map<string, number>();

  constructor(private readonly options: LocalJobRunnerOptions) {}

  start(): void {
    this.schedulePump(0);
    const loop = () => {
      this.maintenanceTimer = setTimeout(() => {
        this.maintaining = this.maintain().finally(() => {
          if (!this.stopped) loop();
        });
      }, this.options.maintenanceMs ?? 1000);
      this.maintenanceTimer.unref?.();
    };
    loop();
  }

  /**
   * A workload's record or replicas changed: when it has a ready replica now, its waiting jobs go
   * back on the queue at once (not at the next upkeep) and `workload.ready` is published on 0 -> ready.
   */
  workloadChanged(project: string, slug: string): void {
    this.options.executor.invalidate?.(project, slug);
    void this.checkReady(project, slug).catch((error: unknown) => this.options.log(`jobs: ${project}/${slug}: ${message(error)}`));
  }

  /** After each controller pass: a change of the desired replica count publishes `workload.scaled`. */
  reconciled(outcome: ReconcileOutcome): void {
    if (outcome.skipped === true || outcome.desired < 0) return;
    const id = `${outcome.project}/${outcome.workload}`;
    const before = this.desiredSeen.get(id);
    this.desiredSeen.set(id, outcome.desired);
    if (before === undefined || before === outcome.desired) return;
    const event = { type: "workload.scaled" as const, project: outcome.project, workload: outcome.workload, from: before, to: outcome.desired, at: this.options.ctx.now().toISOString() };
    void this.options.events?.publish([event]).catch((error: unknown) => this.options.log(`jobs: publishing workload.scaled failed: ${message(error)}`));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.stopping.abort();
    if (this.pumpTimer !== undefined) clearTimeout(this.pumpTimer);
    if (this.maintenanceTimer !== undefined) clearTimeout(this.maintenanceTimer);
    await this.maintaining;
    // A delivery pass may wait on slow receivers: shutdown waits 2 s at most (an unsettled delivery is retried after the restart).
    await Promise.race([this.delivering, new Promise((resolve) => setTimeout(resolve, 2000).unref())]);
    await Promise.allSettled([...this.running]);
  }

  /** One upkeep pass now (tests drive it; the timer calls it every `maintenanceMs`). */
  async maintain(): Promise<void> {
    const { ctx, log } = this.options;
    try {
      const deps = this.serviceDeps();
      const outcome = await maintainAllJobs(deps, { staleAfterSeconds: this.options.staleAfterSeconds ?? 600, maxAttempts: this.options.maxReceives ?? 5 });
      if (outcome.requeued > 0) this.schedulePump(0);
    } catch (error) {
      log(`jobs: upkeep failed (retried at the next pass): ${message(error)}`);
    }
    // Deliveries run beside the upkeep (a slow receiver never delays re-enqueues), one pass at a time.
    this.delivering ??= deliverDueWebhooks({
      ctx,
      ...(this.options.blobs === undefined ? {} : { blobs: this.options.blobs }),
      allowPrivateWebhooks: this.options.allowPrivateWebhooks,
      log,
    })
      .catch((error: unknown) => log(`jobs: webhook delivery failed (retried at the next pass): ${message(error)}`))
      .then(() => {
        this.delivering = undefined;
      });
  }

  private serviceDeps() {
    const o = this.options;
    return {
      ctx: o.ctx,
      queue: o.queue,
      ...(o.blobs === undefined ? {} : { blobs: o.blobs }),
      ...(o.events === undefined ? {} : { events: o.events }),
      ...(o.onJobChange === undefined ? {} : { onJobChange: o.onJobChange }),
      allowPrivateWebhooks: o.allowPrivateWebhooks,
      log: o.log,
    };
  }

  private async checkReady(project: string, slug: string): Promise<void> {
    const { ctx } = this.options;
    const item = await ctx.store.get(keys.workload(project, slug).pk, keys.workload(project, slug).sk);
    const record = item?.data as WorkloadRecord | undefined;
    if (record === undefined || record.deleted_at !== undefined) return;
    const ready = await hasReadyReplica(ctx, record);
    const id = `${project}/${slug}`;
    const before = this.readySeen.get(id) ?? false;
    this.readySeen.set(id, ready);
    if (!ready || before) return;
    await this.options.events?.publish([{ type: "workload.ready", project, workload: slug, ready_replicas: 1, at: ctx.now().toISOString() }]);
    this.maintaining = this.maintaining.then(() => this.maintain());
  }

  private schedulePump(delayMs: number): void {
    if (this.stopped) return;
    if (this.pumpTimer !== undefined) clearTimeout(this.pumpTimer);
    this.pumpTimer = setTimeout(() => {
      this.pumpTimer = undefined;
      void this.pump();
    }, delayMs);
    this.pumpTimer.unref?.();
  }

  private async pump(): Promise<void> {
    if (this.stopped) return;
    const free = (this.options.concurrency ?? 8) - this.active;
    let received = 0;
    if (free > 0) {
      try {
        const messages = await this.options.queue.receive({ max: free, visibilitySeconds: this.options.visibilitySeconds ?? 360 });
        received = messages.length;
        for (const m of messages) {
          this.active++;
          const work = this.handle(m.body, m.receiveCount, m.receipt).finally(() => {
            this.active--;
            this.running.delete(work);
            this.schedulePump(0);
          });
          this.running.add(work);
        }
      } catch (error) {
        this.options.log(`jobs: receiving from the local queue failed: ${message(error)}`);
      }
    }
    this.schedulePump(received > 0 && received === free ? 0 : (this.options.pollMs ?? 200));
  }

  private async handle(body: string, receiveCount: number, receipt: string): Promise<void> {
    const o = this.options;
    const cap = o.perWorkloadInFlight ?? 4;
    let admitted: string | undefined;
    try {
      const outcome = await processQueueMessage(
        {
          ...this.serviceDeps(),
          executor: o.executor,
          maxReceives: o.maxReceives ?? 5,
          leaseSeconds: o.leaseSeconds ?? 330,
          signal: this.stopping.signal,
          ...(o.requestScaleUp === undefined ? {} : { requestScaleUp: o.requestScaleUp }),
          admit: (project, workload) => {
            const id = `${project}/${workload}`;
            const running = this.inFlight.get(id) ?? 0;
            if (running >= cap) return false;
            this.inFlight.set(id, running + 1);
            admitted = id;
            return true;
          },
        },
        body,
        receiveCount,
      );
      if (outcome === "done") await o.queue.delete(receipt);
      // "retry": the message comes back when its visibility ends; sooner here, with a short backoff.
      else await o.queue.release(receipt, Math.min(30, 2 ** receiveCount));
    } catch (error) {
      o.log(`jobs: handling a message failed (it will be retried): ${message(error)}`);
      await o.queue.release(receipt, Math.min(30, 2 ** receiveCount)).catch(() => undefined);
    } finally {
      if (admitted !== undefined) {
        const left = (this.inFlight.get(admitted) ?? 1) - 1;
        if (left <= 0) this.inFlight.delete(admitted);
        else this.inFlight.set(admitted, left);
      }
    }
  }
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
