import { MemoryStore, type PlatformContext, type Store } from "@inferencekey/core";
import { describe, expect, it } from "vitest";
import { storeAdapters } from "../support/store-adapters";
import { SharedRateLimiter } from "../../packages/core/src/gateway/shared-rate";
import { SlidingWindowCounter } from "../../packages/core/src/gateway/rate-window";

/**
 * The shared per-key rate limit (the Lambda gateway's) on every Store adapter: several gateway
 * instances, one store, and the requests admitted in a minute never exceed the key's limit.
 */
const adapters = storeAdapters("rate");

/** Counts the store's writes, so a test can see how often the limiter asks it. */
function countingStore(inner: Store): Store & { puts: number } {
  const counted = {
    puts: 0,
    get: (pk: string, sk: string) => inner.get(pk, sk),
    put: (item: Parameters<Store["put"]>[0], condition: Parameters<Store["put"]>[1]) => {
      counted.puts++;
      return inner.put(item, condition);
    },
    delete: (pk: string, sk: string, condition?: Parameters<Store["delete"]>[2]) => inner.delete(pk, sk, condition),
    query: (input: Parameters<Store["query"]>[0]) => inner.query(input),
    transact: (writes: Parameters<Store["transact"]>[0]) => inner.transact(writes),
  };
  return counted;
}

describe.each(adapters)("shared per-key rate limit on $name", ({ make }) => {
  let current = Date.parse("2026-06-01T10:00:05Z");
  const now = () => new Date(current);

  async function instances(count: number, store?: Store) {
    const shared = store ?? (await make(() => current));
    const ctx: PlatformContext = { store: shared, serverSecret: "s", now };
    return Array.from({ length: count }, () => new SharedRateLimiter(ctx, { fallback: new SlidingWindowCounter(() => current) }));
  }

  it("three instances given a concurrent burst admit exactly the limit in a minute, and 429 the rest until the next", async () => {
    // Prepare
    const gateways = await instances(3);
    // Act: 150 concurrent requests for a key limited to 37 per minute, spread over the instances.
    const waits = await Promise.all(Array.from({ length: 150 }, (_, i) => gateways[i % 3]?.admit("key_burst", 37)));
    // Assess
    expect(waits.filter((w) => w === 0)).toHaveLength(37);
    expect(new Set(waits.filter((w) => w !== 0))).toEqual(new Set([55]));
    current += 55_000;
    const nextMinute = await Promise.all(gateways.map((g) => g.admit("key_burst", 37)));
    expect(nextMinute).toEqual([0, 0, 0]);
  });

  it("asks the store about once per tenth of the limit, not once per request", async () => {
    // Prepare
    const store = countingStore(await make(() => current));
    const [gateway] = await instances(1, store);
    // Act
    let admitted = 0;
    for (let i = 0; i < 1_200; i++) if ((await gateway?.admit("key_steady", 1_000)) === 0) admitted++;
    // Assess
    expect(admitted).toBe(1_000);
    expect(store.puts).toBe(10);
  });
});

describe("shared per-key rate limit when the store fails", () => {
  it("limits per instance meanwhile instead of refusing or admitting everything", async () => {
    // Prepare
    const current = Date.parse("2026-06-01T10:00:05Z");
    const broken = new MemoryStore();
    broken.get = async () => {
      throw new Error("store unreachable");
    };
    const logs: string[] = [];
    const limiter = new SharedRateLimiter(
      { store: broken, serverSecret: "s", now: () => new Date(current) },
      { fallback: new SlidingWindowCounter(() => current), log: (line) => logs.push(line) },
    );
    // Act
    const waits = [];
    for (let i = 0; i < 5; i++) waits.push(await limiter.admit("key_x", 3));
    // Assess
    expect(waits.slice(0, 3)).toEqual([0, 0, 0]);
    expect(waits[3]).toBeGreaterThan(0);
    expect(logs[0]).toContain("shared rate limit unavailable (store unreachable)");
  });
});
