const WINDOW_MS = 60_000;

interface Counter {
  windowStart: number;
  current: number;
  previous: number;
}

/**
 * Per-minute counts with the sliding-window estimate: `previous * (1 - elapsed fraction) + current`.
 * Two integers per name, O(1) per request, smooth at window edges. In memory, per gateway instance.
 */
export class SlidingWindowCounter {
  private readonly counters = new Map<string, Counter>();

  constructor(
    private readonly now: () => number,
    private readonly maxEntries = 100_000,
  ) {}

  private counter(name: string, at: number): Counter {
    const windowStart = at - (at % WINDOW_MS);
    let counter = this.counters.get(name);
    if (counter === undefined) {
      if (this.counters.size >= this.maxEntries) this.prune(at);
      counter = { windowStart, current: 0, previous: 0 };
      this.counters.set(name, counter);
    } else if (counter.windowStart !== windowStart) {
      counter.previous = windowStart - counter.windowStart === WINDOW_MS ? counter.current : 0;
      counter.current = 0;
      counter.windowStart = windowStart;
    }
    return counter;
  }

  /** Estimated events in the last 60 s. */
  rate(name: string): number {
    const at = this.now();
    const counter = this.counters.get(name);
    if (counter === undefined) return 0;
    const c = this.counter(name, at);
    return c.previous * (1 - (at - c.windowStart) / WINDOW_MS) + c.current;
  }

  add(name: string): void {
    this.counter(name, this.now()).current++;
  }

  /**
   * Counts one event unless the estimate already reached `limit`; returns 0 when admitted, else the
   * seconds until the estimate falls below the limit without further events.
   */
  admit(name: string, limit: number): number {
    const at = this.now();
    const c = this.counter(name, at);
    const elapsed = at - c.windowStart;
    const estimate = c.previous * (1 - elapsed / WINDOW_MS) + c.current;
    if (estimate < limit) {
      c.current++;
      return 0;
    }
    let waitMs: number;
    if (c.current < limit && c.previous > 0) {
      // Still in this window: wait for the previous window's weight to decay enough.
      waitMs = WINDOW_MS * (1 - (limit - c.current) / c.previous) - elapsed;
    } else {
      // Next window: `current` becomes `previous` and decays from there.
      waitMs = WINDOW_MS - elapsed + WINDOW_MS * (1 - limit / Math.max(c.current, limit));
    }
    return Math.max(1, Math.ceil(waitMs / 1000));
  }

  /** Drops counters with no event in the last two windows. */
  prune(at = this.now()): void {
    for (const [name, counter] of this.counters) {
      if (at - counter.windowStart >= 2 * WINDOW_MS) this.counters.delete(name);
    }
  }
}
