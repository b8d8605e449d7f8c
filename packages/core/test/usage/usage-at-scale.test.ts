import { describe, expect, it } from "vitest";
import type { PlatformContext } from "../../src/platform/context";
import { LatencyStore } from "../../../../test/support/latency-store";
import { MemoryStore } from "../../src/store";
import { hourIsClosed, readUsage, rollUpUsageHour, storedRequestRate, UsageRecorder, usageKeys } from "../../src/usage";

function setup(start: string) {
  let now = new Date(start);
  const store = new LatencyStore(new MemoryStore(() => now.getTime()));
  const ctx: PlatformContext = { store, serverSecret: "s", now: () => now };
  return {
    ctx,
    calls: store.calls,
    store,
    setNow: (at: string) => {
      now = new Date(at);
    },
    reset: () => store.reset(),
  };
}

const sample = (keyId: string, demand?: string) => ({ keyId, status: 200, latencyMs: 30, promptTokens: 2, completionTokens: 1, ...(demand ? { demand } : {}) });

describe("usage at scale: one item per instance, hourly roll-ups", () => {
  it("each gateway instance writes its own item with one write and no read: 500 instances, 500 writes, no conflict", async () => {
    // Prepare
    const { ctx, calls, reset } = setup("2026-06-01T10:00:10Z");
    const recorders = Array.from({ length: 500 }, (_, i) => new UsageRecorder(ctx, { instanceId: `gw_${i}`, flushIntervalMs: 0 }));
    for (const r of recorders) r.record("acme", "chat", sample("key_1", "inc_1"));
    reset();

    // Act
    await Promise.all(recorders.map((r) => r.flush()));
    const writes = { ...calls };
    const report = await readUsage(ctx, "acme", "chat", { from: "2026-06-01T10:00:00Z", to: "2026-06-01T10:01:00Z" });
    const rate = await storedRequestRate(ctx, "acme", "chat", "inc_1");

    // Assess
    expect(writes).toMatchObject({ put: 500, get: 0, transact: 0 });
    expect(report.totals.requests).toBe(500);
    expect(rate).toBe(500);
  });

  it("still reads the items of before, one per (minute, key) holding a part per instance", async () => {
    // Prepare
    const { ctx } = setup("2026-06-01T10:00:10Z");
    const part = { requests: 3, errors: 0, cancelled: 0, prompt_tokens: 6, completion_tokens: 3, unmetered: 0, latency_ms_sum: 90, latency_ms_max: 30, latency_buckets: [0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], demand: { inc_1: 3 } };
    await ctx.store.put(
      { pk: usageKeys.partition("acme", "chat"), sk: usageKeys.sort("2026-06-01T10:00", "key_1"), data: { project: "acme", workload: "chat", minute: "2026-06-01T10:00", key_id: "key_1", parts: { gw_old: part } } },
      { kind: "absent" },
    );
    const recorder = new UsageRecorder(ctx, { instanceId: "gw_new", flushIntervalMs: 0 });
    recorder.record("acme", "chat", sample("key_1", "inc_1"));
    await recorder.flush();

    // Act
    const report = await readUsage(ctx, "acme", "chat", { from: "2026-06-01T10:00:00Z", to: "2026-06-01T10:01:00Z" });
    const rate = await storedRequestRate(ctx, "acme", "chat", "inc_1");

    // Assess
    expect(report.totals).toMatchObject({ requests: 4, prompt_tokens: 8 });
    expect(rate).toBe(4);
  });

  it("a closed hour is rolled up on first read; later reads give the same report from the roll-up alone", async () => {
    // Prepare: traffic in 10:00-10:59 from two instances and two keys, then the hour closes.
    const { ctx, calls, store, setNow, reset } = setup("2026-06-01T10:00:00Z");
    const a = new UsageRecorder(ctx, { instanceId: "gw_a", flushIntervalMs: 0 });
    const b = new UsageRecorder(ctx, { instanceId: "gw_b", flushIntervalMs: 0 });
    for (let minute = 0; minute < 60; minute += 7) {
      setNow(`2026-06-01T10:${String(minute).padStart(2, "0")}:30Z`);
      a.record("acme", "chat", sample("key_1"));
      b.record("acme", "chat", sample(minute % 2 === 0 ? "key_1" : "key_2"));
      await Promise.all([a.flush(), b.flush()]);
    }
    const range = { from: "2026-06-01T10:00:00Z", to: "2026-06-01T11:00:00Z" };
    setNow("2026-06-01T11:10:00Z");
    const whileOpen = await readUsage(ctx, "acme", "chat", range);
    const notYet = await rollUpUsageHour(ctx, "acme", "chat", "2026-06-01T10");
    setNow("2026-06-01T11:25:00Z");
    reset();

    // Act
    const first = await readUsage(ctx, "acme", "chat", range);
    const firstCalls = { ...calls };
    reset();
    const second = await readUsage(ctx, "acme", "chat", range);

    // Assess
    expect(notYet).toBeUndefined();
    expect(hourIsClosed("2026-06-01T10", new Date("2026-06-01T11:25:00Z"))).toBe(true);
    expect(first).toEqual(whileOpen);
    expect(second).toEqual(whileOpen);
    expect(whileOpen.totals.requests).toBe(18);
    expect(whileOpen.by_key.map((k) => k.key_id).sort()).toEqual(["key_1", "key_2"]);
    expect(firstCalls.put).toBe(2);
    // The roll-up: one per-minute item and one per-key chunk, and no minute item read. The second
    // query reads the workload's cost records (estimated_cost_usd), none here.
    expect(calls).toMatchObject({ query: 2, put: 0 });
    expect(store.itemsRead).toBe(2);
  });

  it("the partial hours at the ends of a range come from minute items, whole hours from roll-ups", async () => {
    // Prepare: one request at 09:30, 10:30 and 11:30.
    const { ctx, setNow } = setup("2026-06-01T09:30:00Z");
    const recorder = new UsageRecorder(ctx, { instanceId: "gw_a", flushIntervalMs: 0 });
    for (const at of ["2026-06-01T09:30:00Z", "2026-06-01T10:30:00Z", "2026-06-01T11:30:00Z"]) {
      setNow(at);
      recorder.record("acme", "chat", sample("key_1"));
      await recorder.flush();
    }
    setNow("2026-06-02T00:00:00Z");

    // Act
    const inner = await readUsage(ctx, "acme", "chat", { from: "2026-06-01T09:45:00Z", to: "2026-06-01T11:15:00Z" });
    const outer = await readUsage(ctx, "acme", "chat", { from: "2026-06-01T09:15:00Z", to: "2026-06-01T11:45:00Z" });

    // Assess
    expect(inner.totals.requests).toBe(1);
    expect(inner.by_minute.map((m) => m.minute)).toEqual(["2026-06-01T10:30"]);
    expect(outer.totals.requests).toBe(3);
  });

  it("a 31-day read reads about two items per hour once rolled up, whatever the number of instances", async () => {
    // Prepare: every hour of 31 days, 3 instances serve 2 keys.
    const { ctx, calls, store, setNow, reset } = setup("2026-05-01T00:00:00Z");
    const recorders = ["gw_a", "gw_b", "gw_c"].map((id) => new UsageRecorder(ctx, { instanceId: id, flushIntervalMs: 0 }));
    const start = Date.parse("2026-05-01T00:00:00Z");
    for (let hour = 0; hour < 31 * 24; hour++) {
      setNow(new Date(start + hour * 3_600_000 + 5 * 60_000).toISOString());
      for (const r of recorders) {
        r.record("acme", "chat", sample("key_1"));
        r.record("acme", "chat", sample("key_2"));
        await r.flush();
      }
    }
    setNow("2026-06-01T01:00:00Z");
    const range = { from: "2026-05-01T00:00:00Z", to: "2026-06-01T00:00:00Z" };
    const first = await readUsage(ctx, "acme", "chat", range);
    reset();

    // Act
    const second = await readUsage(ctx, "acme", "chat", range);

    // Assess: 744 hours x 6 minute items were summed once; now 744 x 2 roll-up items.
    expect(first.totals.requests).toBe(31 * 24 * 6);
    expect(second).toEqual(first);
    expect(store.itemsRead).toBe(31 * 24 * 2);
    expect(calls.put).toBe(0);
  });

  it("a roll-up missing one of its key chunks is not used: the hour is read from its minutes", async () => {
    // Prepare
    const { ctx, setNow } = setup("2026-06-01T10:05:00Z");
    const recorder = new UsageRecorder(ctx, { instanceId: "gw_a", flushIntervalMs: 0 });
    recorder.record("acme", "chat", sample("key_1"));
    await recorder.flush();
    setNow("2026-06-01T12:00:00Z");
    await rollUpUsageHour(ctx, "acme", "chat", "2026-06-01T10");
    await ctx.store.delete(usageKeys.rollUpPartition("acme", "chat"), usageKeys.rollUpKeys("2026-06-01T10", 0));

    // Act
    const report = await readUsage(ctx, "acme", "chat", { from: "2026-06-01T10:00:00Z", to: "2026-06-01T11:00:00Z" });

    // Assess
    expect(report.totals.requests).toBe(1);
    expect(report.by_key).toHaveLength(1);
  });
});
