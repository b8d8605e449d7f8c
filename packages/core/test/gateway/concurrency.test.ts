import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { concurrencyKey, LocalConcurrencyLimiter, SharedConcurrencyLimiter } from "../../src/gateway/concurrency";
import type { Store } from "../../src/store";
import { MemoryStore } from "../../src/store";
import {
  bearer,
  FakeClock,
  GATEWAY_BINDINGS,
  type ReplicaProcess,
  type ServedGateway,
  serveGateway,
  startReplica,
  stopAllReplicas,
  TestPlatform,
} from "./support";

/** A streamed chat answer of `tokens` chunks: it holds its concurrency slot until the last one. */
const streamedChat = (url: string, secret: string, tokens = 200) =>
  fetch(`${url}/endpoint/acme/chat/v1/chat/completions`, {
    method: "POST",
    headers: { ...bearer(secret), "content-type": "application/json" },
    // The test replica echoes the prompt one word per chunk: `tokens` words make `tokens` chunks.
    body: JSON.stringify({
      model: "test-model",
      stream: true,
      max_tokens: tokens,
      messages: [{ role: "user", content: Array.from({ length: tokens }, (_, i) => `w${i}`).join(" ") }],
    }),
  });

describe.each(GATEWAY_BINDINGS.flatMap(({ binding }) => [
  { binding, scope: "instance" as const },
  { binding, scope: "shared" as const },
]))("gateway: per-key concurrency limit ($scope scope, $binding binding)", ({ binding, scope }) => {
  const platform = new TestPlatform();
  let replica: ReplicaProcess;
  let first: ServedGateway;
  let second: ServedGateway;

  beforeAll(async () => {
    await platform.workload("acme", { slug: "chat" });
    // 200 chunks 50 ms apart: each stream would stay open 10 s; the test ends them by leaving.
    replica = await startReplica({ id: platform.replicaIdFor("acme", "chat"), serverSecret: platform.ctx.serverSecret, chunkDelayMs: 50 });
    await platform.replica("acme", "chat", { port: replica.port });
    first = await serveGateway(platform, { rateLimitScope: scope }, binding);
    second = await serveGateway(platform, { rateLimitScope: scope }, binding);
  });

  afterAll(async () => {
    await first?.close();
    await second?.close();
    await stopAllReplicas();
  });

  it("a key at its limit of requests in flight gets 429 concurrency_limit_exceeded with Retry-After, and a slot frees when a stream ends", async () => {
    // Prepare: two streams hold both slots (both through one instance unless shared, where they are split).
    const key = await platform.key("acme", "chat", { max_concurrent_requests: 2 });
    const holders = [await streamedChat(first.url, key.secret), await streamedChat((scope === "shared" ? second : first).url, key.secret)];
    const before = (await replica.stats()).requests;

    // Act
    const refused = await streamedChat(first.url, key.secret);
    const body = (await refused.json()) as { error: { code: string; type: string; max_concurrent_requests: number } };
    const afterRefusal = (await replica.stats()).requests;
    // The holders' clients go away: their streams end, and so do their leases (released off the request path).
    await Promise.all(holders.map((h) => h.body?.cancel()));
    let again = await streamedChat(first.url, key.secret, 2);
    for (let i = 0; i < 50 && again.status === 429; i++) {
      await again.text();
      await Promise.all([first.gateway.settleWrites(), second.gateway.settleWrites()]);
      await new Promise((r) => setTimeout(r, 50));
      again = await streamedChat(first.url, key.secret, 2);
    }

    // Assess
    expect(holders.map((h) => h.status)).toEqual([200, 200]);
    expect(refused.status).toBe(429);
    expect(refused.headers.get("retry-after")).toBe("1");
    expect(body.error).toMatchObject({ code: "concurrency_limit_exceeded", type: "rate_limit_error", max_concurrent_requests: 2 });
    expect(afterRefusal).toBe(before);
    expect(again.status).toBe(200);
    await again.text();
  });

  it("a key without a limit is never refused for concurrency", async () => {
    // Prepare
    const key = await platform.key("acme", "chat");

    // Act
    const answers = await Promise.all(Array.from({ length: 5 }, () => streamedChat(first.url, key.secret, 3)));
    await Promise.all(answers.map((a) => a.text()));

    // Assess
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200, 200]);
  });
});

describe("SharedConcurrencyLimiter", () => {
  const setup = (store?: Store) => {
    const clock = new FakeClock();
    const ctx = { store: store ?? new MemoryStore(() => clock.now().getTime()), serverSecret: "s", now: clock.now };
    const lines: string[] = [];
    const limiter = new SharedConcurrencyLimiter(ctx, { leaseMs: 60_000, fallback: new LocalConcurrencyLimiter(), log: (l) => lines.push(l) });
    return { clock, ctx, limiter, lines };
  };

  it("two instances share one key's limit; a release frees the slot for the other", async () => {
    // Prepare
    const { ctx, limiter } = setup();
    const other = new SharedConcurrencyLimiter(ctx, { fallback: new LocalConcurrencyLimiter() });

    // Act
    const a = await limiter.acquire("key_a", 2);
    const b = await other.acquire("key_a", 2);
    const refused = await other.acquire("key_a", 2);
    if (typeof a !== "number") a.release();
    await limiter.drain();
    const admittedAfterRelease = await other.acquire("key_a", 2);
    limiter.close();
    other.close();

    // Assess
    expect(typeof a).toBe("object");
    expect(typeof b).toBe("object");
    expect(refused).toBe(1);
    expect(typeof admittedAfterRelease).toBe("object");
  });

  it("a lease its instance stopped renewing (crashed) expires after leaseMs; one being renewed holds", async () => {
    // Prepare: one crashed holder (never renews, never releases) and one live one.
    const { clock, ctx, limiter } = setup();
    const crashed = new SharedConcurrencyLimiter(ctx, { leaseMs: 60_000, fallback: new LocalConcurrencyLimiter() });
    await crashed.acquire("key_b", 2);
    crashed.close();
    await limiter.acquire("key_b", 2);

    // Act
    clock.advance(40_000);
    await limiter.renew();
    clock.advance(30_000);
    const third = await limiter.acquire("key_b", 2);
    const fourth = await limiter.acquire("key_b", 2);
    limiter.close();

    // Assess: the crashed lease is gone (70 s old), the renewed one still counts.
    expect(typeof third).toBe("object");
    expect(fourth).toBe(1);
    const item = await ctx.store.get(concurrencyKey("key_b").pk, concurrencyKey("key_b").sk);
    expect(Object.keys(item?.data.leases as object)).toHaveLength(2);
  });

  it("concurrent acquisitions of one key never admit more than the limit", async () => {
    // Prepare
    const { ctx } = setup();
    const instances = Array.from({ length: 10 }, () => new SharedConcurrencyLimiter(ctx, { fallback: new LocalConcurrencyLimiter() }));

    // Act
    const results = await Promise.all(instances.flatMap((i) => [i.acquire("key_c", 5), i.acquire("key_c", 5)]));
    for (const i of instances) i.close();

    // Assess
    expect(results.filter((r) => typeof r === "object")).toHaveLength(5);
  });

  it("falls back to counting per instance when the store fails, and says so", async () => {
    // Prepare
    const failing = new MemoryStore();
    failing.get = async () => {
      throw new Error("store down");
    };
    const { limiter, lines } = setup(failing);

    // Act
    const first = await limiter.acquire("key_d", 1);
    const second = await limiter.acquire("key_d", 1);

    // Assess
    expect(typeof first).toBe("object");
    expect(second).toBe(1);
    expect(lines.join("\n")).toContain("shared concurrency limit unavailable");
  });
});
