/**
 * How long a workload's cold start should still take, as this gateway instance saw the last one: an
 * episode begins when a request finds no ready replica and ends when one is ready; its length is the
 * estimate for the next episode. It sets the `Retry-After` of `workload_scaling_up`, so a client
 * comes back about when the replica is expected instead of after a fixed wait. Real time (waits),
 * not the context clock; in memory, bounded.
 */
export class ColdStartEstimator {
  private readonly since = new Map<string, number>();
  private readonly lastMs = new Map<string, number>();

  constructor(
    private readonly options: {
      /** The estimate before any cold start of the workload was seen. */
      firstGuessMs: number;
      maxEntries: number;
      now?: () => number;
    },
  ) {}

  private now(): number {
    return this.options.now === undefined ? performance.now() : this.options.now();
  }

  /** A request found no ready replica: the episode starts now unless one is under way. */
  waiting(id: string): void {
    if (this.since.has(id)) return;
    if (this.since.size >= this.options.maxEntries) this.since.clear();
    this.since.set(id, this.now());
  }

  /** Whether any episode is under way (checked before building an id on the hot path). */
  get anyWaiting(): boolean {
    return this.since.size > 0;
  }

  /** A ready replica was seen: an episode under way ends, and its length becomes the estimate. */
  ready(id: string): void {
    const since = this.since.get(id);
    if (since === undefined) return;
    this.since.delete(id);
    if (this.lastMs.size >= this.options.maxEntries) this.lastMs.clear();
    this.lastMs.set(id, this.now() - since);
  }

  /** Milliseconds until a replica is expected; 0 once the estimate has passed. */
  remainingMs(id: string): number {
    const expected = this.lastMs.get(id) ?? this.options.firstGuessMs;
    const since = this.since.get(id);
    return Math.max(0, expected - (since === undefined ? 0 : this.now() - since));
  }
}
