import { describe, expect, it } from "vitest";
import { ColdStartEstimator } from "../../src/gateway/cold-start";
import { TtlCache } from "../../src/gateway/ttl-cache";

describe("TtlCache.invalidate", () => {
  it("a load that was in flight when the entry was invalidated is not cached: the next load reads again", async () => {
    // Prepare: a read of the old state is in flight.
    const cache = new TtlCache<string>({ now: () => 0, ttlMs: () => 60_000, maxEntries: 10 });
    let finishOld: (value: string) => void = () => undefined;
    const old = cache.load("k", () => new Promise((resolve) => (finishOld = resolve)));

    // Act: the state changes; then the old read finishes.
    cache.invalidate("k");
    const fresh = cache.load("k", async () => "after the change");
    finishOld("before the change");

    // Assess
    expect(await old).toBe("before the change");
    expect(await fresh).toBe("after the change");
    expect(cache.fresh("k")?.value).toBe("after the change");
  });
});

describe("ColdStartEstimator", () => {
  it("expects the first guess before any cold start, then the length of the last one, counting down", () => {
    // Prepare
    let now = 0;
    const estimator = new ColdStartEstimator({ firstGuessMs: 1000, maxEntries: 10, now: () => now });

    // Act + Assess: a first episode, 3 s long.
    estimator.waiting("acme/chat");
    expect(estimator.remainingMs("acme/chat")).toBe(1000);
    now = 3000;
    expect(estimator.remainingMs("acme/chat")).toBe(0);
    estimator.ready("acme/chat");

    // The next episode is expected to take 3 s as well.
    now = 10_000;
    estimator.waiting("acme/chat");
    now = 11_000;
    expect(estimator.remainingMs("acme/chat")).toBe(2000);
    expect(estimator.remainingMs("acme/other")).toBe(1000);
  });
});
