import type { NewItem, QueryInput, Store, TransactWrite, WriteCondition } from "@inferencekey/core";

/**
 * A Store wrapper for tests and benchmarks: counts calls by kind (and the items queries return) and
 * waits `latencyMs` before each call, as a network round trip would (0: no wait).
 */
export class LatencyStore implements Store {
  readonly calls = { get: 0, put: 0, delete: 0, transact: 0, query: 0 };
  /** Items the queries returned. */
  itemsRead = 0;
  latencyMs = 0;

  constructor(private readonly inner: Store) {}

  private async wait(): Promise<void> {
    if (this.latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, this.latencyMs));
  }

  get total(): number {
    return Object.values(this.calls).reduce((a, b) => a + b, 0);
  }

  reset(): void {
    for (const name of Object.keys(this.calls) as (keyof LatencyStore["calls"])[]) this.calls[name] = 0;
    this.itemsRead = 0;
  }

  async get(pk: string, sk: string) {
    this.calls.get++;
    await this.wait();
    return this.inner.get(pk, sk);
  }

  async put(item: NewItem, condition: WriteCondition) {
    this.calls.put++;
    await this.wait();
    return this.inner.put(item, condition);
  }

  async delete(pk: string, sk: string, condition?: WriteCondition) {
    this.calls.delete++;
    await this.wait();
    return this.inner.delete(pk, sk, condition);
  }

  async transact(writes: readonly TransactWrite[]) {
    this.calls.transact++;
    await this.wait();
    return this.inner.transact(writes);
  }

  async query(input: QueryInput) {
    this.calls.query++;
    await this.wait();
    const page = await this.inner.query(input);
    this.itemsRead += page.items.length;
    return page;
  }
}
