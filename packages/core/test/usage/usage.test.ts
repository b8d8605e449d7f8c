import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { PlatformContext } from "../../src/platform/context";
import { MemoryStore } from "../../src/store";
import { readUsage, storedRequestRate, UsageRecorder, usageKeys } from "../../src/usage";

function setup(start = "2026-06-01T10:00:10Z") {
  let now = new Date(start);
  const ctx: PlatformContext = { store: new MemoryStore(() => now.getTime()), serverSecret: "s", now: () => now };
  return {
    ctx,
    advance: (ms: number) => {
      now = new Date(now.getTime() + ms);
    },
  };
}

const sample = (keyId: string, extra: Partial<Parameters<UsageRecorder["record"]>[2]> = {}) => ({
  keyId,
  status: 200,
  latencyMs: 40,
  promptTokens: 10,
  completionTokens: 5,
  ...extra,
});

describe("usage: in-memory aggregation, periodic flush, readUsage", () => {
  it("flushes cumulative per-instance items: flushing again never double counts", async () => {
    // Prepare
    const { ctx } = setup();
    const recorder = new UsageRecorder(ctx, { instanceId: "gw_a", flushIntervalMs: 0 });
    recorder.record("acme", "chat", sample("key_1"));
    await recorder.flush();
    recorder.record("acme", "chat", sample("key_1", { status: 500, promptTokens: 0, completionTokens: 0 }));

    // Act
    await recorder.flush();
    await recorder.flush();
    const item = await ctx.store.get(usageKeys.partition("acme", "chat"), usageKeys.sort("2026-06-01T10:00", "key_1", "gw_a"));
    const report = await readUsage(ctx, "acme", "chat", { from: "2026-06-01T10:00:00Z", to: "2026-06-01T10:01:00Z" });

    // Assess
    expect(item?.data).toMatchObject({ instance: "gw_a", key_id: "key_1", counters: { requests: 2 } });
    expect(report.totals).toMatchObject({ requests: 2, errors: 1, prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 });
  });

  it("a flush whose acknowledgement was lost is rewritten with the same totals (idempotent)", async () => {
    // Prepare: the first put lands but reports a failure.
    const { ctx } = setup();
    const put = ctx.store.put.bind(ctx.store);
    let failOnce = true;
    ctx.store.put = async (item, condition) => {
      const stored = await put(item, condition);
      if (failOnce) {
        failOnce = false;
        throw new Error("network: acknowledgement lost");
      }
      return stored;
    };
    const recorder = new UsageRecorder(ctx, { instanceId: "gw_a", flushIntervalMs: 0, log: () => undefined });
    recorder.record("acme", "chat", sample("key_1"));

    // Act
    await recorder.flush();
    await recorder.flush();
    const report = await readUsage(ctx, "acme", "chat", { from: "2026-06-01T10:00:00Z", to: "2026-06-01T11:00:00Z" });

    // Assess
    expect(report.totals.requests).toBe(1);
    expect(report.totals.prompt_tokens).toBe(10);
  });

  it("two gateway instances flushing at the same time both count", async () => {
    // Prepare
    const { ctx } = setup();
    const a = new UsageRecorder(ctx, { instanceId: "gw_a", flushIntervalMs: 0 });
    const b = new UsageRecorder(ctx, { instanceId: "gw_b", flushIntervalMs: 0 });
    for (let i = 0; i < 3; i++) a.record("acme", "chat", sample("key_1"));
    for (let i = 0; i < 4; i++) b.record("acme", "chat", sample("key_1"));

    // Act
    await Promise.all([a.flush(), b.flush()]);
    const report = await readUsage(ctx, "acme", "chat", { from: "2026-06-01T10:00:00Z", to: "2026-06-01T10:01:00Z" });

    // Assess
    expect(report.totals.requests).toBe(7);
    expect(report.by_key).toEqual([expect.objectContaining({ key_id: "key_1", requests: 7 })]);
  });

  it("reports per key and per minute within the range, with latency percentiles from the histogram", async () => {
    // Prepare
    const { ctx, advance } = setup();
    const recorder = new UsageRecorder(ctx, { instanceId: "gw_a", flushIntervalMs: 0 });
    recorder.record("acme", "chat", sample("key_1", { latencyMs: 20 }));
    recorder.record("acme", "chat", sample("key_2", { latencyMs: 700 }));
    advance(60_000);
    recorder.record("acme", "chat", sample("key_1", { latencyMs: 20, cancelled: true }));
    advance(60_000);
    recorder.record("acme", "chat", sample("key_1"));
    await recorder.flush();

    // Act
    const report = await readUsage(ctx, "acme", "chat", { from: "2026-06-01T10:00:30Z", to: "2026-06-01T10:02:00Z" });

    // Assess
    expect(report.from).toBe("2026-06-01T10:00:00.000Z");
    expect(report.by_minute.map((m) => [m.minute, m.requests])).toEqual([
      ["2026-06-01T10:00", 2],
      ["2026-06-01T10:01", 1],
    ]);
    expect(report.totals).toMatchObject({ requests: 3, cancelled: 1, latency_ms_max: 700, latency_ms_p50: 25, latency_ms_p99: 700 });
    expect(new Set(report.by_key.map((k) => k.key_id))).toEqual(new Set(["key_1", "key_2"]));
  });

  it("drops past minutes from memory once written; keeps them when the store fails", async () => {
    // Prepare
    const { ctx, advance } = setup();
    const recorder = new UsageRecorder(ctx, { instanceId: "gw_a", flushIntervalMs: 0, log: () => undefined });
    recorder.record("acme", "chat", sample("key_1"));
    advance(60_000);
    const put = ctx.store.put.bind(ctx.store);
    ctx.store.put = async () => {
      throw new Error("store down");
    };

    // Act
    await recorder.flush();
    const whileDown = recorder.pendingBuckets;
    ctx.store.put = put;
    await recorder.flush();

    // Assess
    expect(whileDown).toBe(1);
    expect(recorder.pendingBuckets).toBe(0);
  });

  it("storedRequestRate gives the autoscaler a per-minute rate from flushed counters", async () => {
    // Prepare: 30 requests in 10:00, 10 so far in 10:01 (30 s in).
    const { ctx, advance } = setup("2026-06-01T10:00:05Z");
    const recorder = new UsageRecorder(ctx, { instanceId: "gw_a", flushIntervalMs: 0 });
    for (let i = 0; i < 30; i++) recorder.record("acme", "chat", sample("key_1", { demand: "inc_life1" }));
    advance(60_000);
    for (let i = 0; i < 10; i++) recorder.record("acme", "chat", sample("key_1", { demand: "inc_life1" }));
    await recorder.flush();
    advance(25_000);

    // Act
    const rate = await storedRequestRate(ctx, "acme", "chat", "inc_life1");

    // Assess
    expect(rate).toBeCloseTo(30 * 0.5 + 10, 5);
  });

  it("percentiles never exceed the maximum: 7 ms calls read p50 = p99 = max = 7, not the bucket bound 10", async () => {
    // Prepare
    const { ctx } = setup();
    const recorder = new UsageRecorder(ctx, { instanceId: "gw_a", flushIntervalMs: 0 });
    for (const latencyMs of [3, 5, 7]) recorder.record("acme", "chat", sample("key_1", { latencyMs }));
    await recorder.flush();

    // Act
    const report = await readUsage(ctx, "acme", "chat", { from: "2026-06-01T10:00:00Z", to: "2026-06-01T10:01:00Z" });

    // Assess
    expect(report.totals).toMatchObject({ latency_ms_p50: 7, latency_ms_p99: 7, latency_ms_max: 7 });
  });

  it("property: p50 <= p99 <= max for any latencies, split over any number of gateway instances", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(fc.double({ min: 0, max: 200_000, noNaN: true }), { maxLength: 40 }), { minLength: 1, maxLength: 4 }),
        async (instances) => {
          // Prepare: each gateway instance writes its own part of the minute's item.
          const { ctx } = setup();
          for (const [i, latencies] of instances.entries()) {
            const recorder = new UsageRecorder(ctx, { instanceId: `gw_${i}`, flushIntervalMs: 0 });
            for (const latencyMs of latencies) recorder.record("acme", "chat", sample("key_1", { latencyMs }));
            await recorder.flush();
          }

          // Act
          const { totals } = await readUsage(ctx, "acme", "chat", { from: "2026-06-01T10:00:00Z", to: "2026-06-01T10:01:00Z" });

          // Assess
          expect(totals.latency_ms_p50).toBeLessThanOrEqual(totals.latency_ms_p99);
          expect(totals.latency_ms_p99).toBeLessThanOrEqual(totals.latency_ms_max);
          expect(totals.latency_ms_avg).toBeLessThanOrEqual(totals.latency_ms_max);
        },
      ),
    );
  });

  it("storedRequestRate counts only servable requests of the incarnation asked for", async () => {
    // Prepare: in one minute, 5 servable requests of a former life of the slug, 7 refused ones
    // (no demand), and 3 servable requests of the current life, over two instances.
    const { ctx, advance } = setup("2026-06-01T10:00:05Z");
    const first = new UsageRecorder(ctx, { instanceId: "gw_a", flushIntervalMs: 0 });
    const second = new UsageRecorder(ctx, { instanceId: "gw_b", flushIntervalMs: 0 });
    for (let i = 0; i < 5; i++) first.record("acme", "chat", sample("key_old", { demand: "inc_former" }));
    for (let i = 0; i < 7; i++) first.record("acme", "chat", sample("key_new", { status: 404 }));
    for (let i = 0; i < 2; i++) first.record("acme", "chat", sample("key_new", { demand: "inc_current" }));
    second.record("acme", "chat", sample("key_new", { demand: "inc_current" }));
    await first.flush();
    await second.flush();
    advance(10_000);

    // Act
    const current = await storedRequestRate(ctx, "acme", "chat", "inc_current");
    const former = await storedRequestRate(ctx, "acme", "chat", "inc_former");
    const usage = await readUsage(ctx, "acme", "chat", { from: "2026-06-01T10:00:00Z", to: "2026-06-01T10:01:00Z" });

    // Assess: usage still reports every request.
    expect(current).toBe(3);
    expect(former).toBe(5);
    expect(usage.totals.requests).toBe(15);
  });
});
