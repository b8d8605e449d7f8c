/**
 * Waiters parked on a key (a workload, a job) until the key is woken, a timeout passes or a signal
 * aborts, whichever is first. Held requests and long polls use it to react to a change made in this
 * process at once instead of on their next poll.
 */
export class KeyedWaiters {
  private readonly waiters = new Map<string, Set<() => void>>();

  /** Wakes every waiter of the key. */
  wake(key: string): void {
    const waiting = this.waiters.get(key);
    if (waiting === undefined) return;
    this.waiters.delete(key);
    for (const done of waiting) done();
  }

  /** Resolves after `ms`, when `signal` aborts, or as soon as the key is woken. */
  wait(key: string, ms: number, signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      if (signal.aborted) {
        resolve();
        return;
      }
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener("abort", done);
        const waiting = this.waiters.get(key);
        waiting?.delete(done);
        if (waiting?.size === 0) this.waiters.delete(key);
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal.addEventListener("abort", done, { once: true });
      let waiting = this.waiters.get(key);
      if (waiting === undefined) {
        waiting = new Set();
        this.waiters.set(key, waiting);
      }
      waiting.add(done);
    });
  }
}
