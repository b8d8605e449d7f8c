import { type Compute, type ControllerOptions, type PlatformContext, reconcileAll, reconcileWorkload } from "@inferencekey/core";

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
    private readonly options: { tickMs: number; log: (line: string) => void; controller?: ControllerOptions },
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
      await reconcileWorkload(this.ctx, this.compute, project, slug, this.options.controller);
    });
  }

  async tick(): Promise<void> {
    await reconcileAll(this.ctx, this.compute, this.options.controller);
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
