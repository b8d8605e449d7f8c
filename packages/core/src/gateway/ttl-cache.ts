interface Entry<V> {
  value: V;
  expiresAt: number;
}

/**
 * A bounded in-memory cache with per-entry TTL and single-flight loading: a burst of requests for
 * an expired entry makes one store read, not one per request. Time comes from the injected clock.
 */
export class TtlCache<V> {
  private readonly entries = new Map<string, Entry<V>>();
  private readonly loading = new Map<string, Promise<V>>();

  constructor(
    private readonly options: {
      now: () => number;
      /** Milliseconds an entry stays fresh; may depend on the value (negative results shorter). */
      ttlMs: (value: V) => number;
      maxEntries: number;
    },
  ) {}

  /** The fresh entry, synchronously (no microtask on the hot path), or undefined. */
  fresh(key: string): Entry<V> | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.expiresAt <= this.options.now()) return undefined;
    return entry;
  }

  /** Loads (or joins the load in flight) and caches the result. */
  load(key: string, loader: () => Promise<V>): Promise<V> {
    const inFlight = this.loading.get(key);
    if (inFlight !== undefined) return inFlight;
    const promise: Promise<V> = loader()
      .then((value) => {
        // A load that `invalidate` overtook may have read the old state: return it, cache nothing.
        if (this.loading.get(key) === promise) this.set(key, value);
        return value;
      })
      .finally(() => {
        if (this.loading.get(key) === promise) this.loading.delete(key);
      });
    this.loading.set(key, promise);
    return promise;
  }

  set(key: string, value: V): void {
    this.entries.delete(key);
    if (this.entries.size >= this.options.maxEntries) {
      // Oldest first: Map keeps insertion order and set() re-inserts.
      const oldest = this.entries.keys().next();
      if (!oldest.done) this.entries.delete(oldest.value);
    }
    this.entries.set(key, { value, expiresAt: this.options.now() + this.options.ttlMs(value) });
  }

  delete(key: string): void {
    this.entries.delete(key);
  }

  /** Forgets the entry and any load in flight: the next `load` reads again, after the change. */
  invalidate(key: string): void {
    this.entries.delete(key);
    this.loading.delete(key);
  }

}
