import {
  type Compute,
  type ControllerOptions,
  fanOutTick,
  type PlatformContext,
  type ProjectTickDispatcher,
  type ReconcileOutcome,
  reconcileAll,
  reconcileWorkload,
} from "@inferencekey/core";

/** The pending key of a full tick (no workload key contains a space). */
const ALL = "all workloads";

/**
 * The local stand-in for EventBridge: a timer runs a full tick every `tickMs`, and `poke` reconciles
 * one workload at once (after ensure/delete or a replica change). Ticks never overlap.
 */
export class LocalController {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> = Promise.resolve();
  private readonly pending = new Set<string>();
  private stopped = false;

  constructor(
    private readonly ctx: PlatformContext,
    private readonly compute: Compute,
    private readonly options: {
      tickMs: number;
      log: (line: string) => void;
      controller?: ControllerOptions;
      /** After each workload's pass (a tick's or a poke's), e.g. to tell agents their assignments changed. */
      onReconciled?: (outcome: ReconcileOutcome) => void;
      /**
       * Fans each tick out per project through this dispatcher (an InProcessProjectDispatcher runs
       * projects side by side; its `onPass` reports their outcomes) instead of one sequential pass.
       */
      fanout?: ProjectTickDispatcher;
    },
  ) {}

  start(): void {
    const loop = () => {
      this.timer = setTimeout(() => {
        this.enqueue(() => this.tick()).finally(() => {
          if (!this.stopped) loop();
        });
      }, this.options.tickMs);
    };
    loop();
    void this.enqueue(() => this.tick());
  }

  /** Reconcile one workload soon (coalesced: many pokes for one workload make one pass). */
  poke(project: string, slug: string): void {
    const key = `${project}/${slug}`;
    if (this.pending.has(key)) return;
    this.pending.add(key);
    void this.enqueue(async () => {
      this.pending.delete(key);
      const outcome = await reconcileWorkload(this.ctx, this.compute, project, slug, this.options.controller);
      if (outcome !== undefined) this.options.onReconciled?.(outcome);
    });
  }

  /** Run a full tick soon (coalesced), e.g. when a worker that placements wait for comes online. */
  pokeAll(): void {
    if (this.pending.has(ALL)) return;
    this.pending.add(ALL);
    void this.enqueue(async () => {
      this.pending.delete(ALL);
      await this.tick();
    });
  }

  async tick(): Promise<void> {
    if (this.options.fanout !== undefined) {
      await fanOutTick(this.ctx, this.options.fanout, this.compute);
      return;
    }
    const outcomes = await reconcileAll(this.ctx, this.compute, this.options.controller);
    for (const outcome of outcomes) this.options.onReconciled?.(outcome);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }

  private enqueue(work: () => Promise<void>): Promise<void> {
    const next = this.running.then(async () => {
      if (this.stopped) return;
      try {
        await work();
      } catch (error) {
        this.options.log(`controller: ${error instanceof Error ? error.message : String(error)}`);
      }
    });
    this.running = next;
    return next;
  }
}
