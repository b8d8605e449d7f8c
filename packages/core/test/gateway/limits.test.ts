import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROUTE_DEFINITIONS } from "../../src/gateway";
import { bearer, FakeClock, type ReplicaProcess, type ServedGateway, serveGateway, GATEWAY_BINDINGS, startReplica, stopAllReplicas, TestPlatform } from "./support";

describe.each(GATEWAY_BINDINGS)("gateway: rate and size limits ($binding binding)", ({ binding }) => {
  const clock = new FakeClock();
  const platform = new TestPlatform(clock.now);
  let replica: ReplicaProcess;
  let served: ServedGateway;

  beforeAll(async () => {
    await platform.workload("acme", { slug: "chat" });
    replica = await startReplica({ id: platform.replicaIdFor("acme", "chat"), serverSecret: platform.ctx.serverSecret });
    await platform.replica("acme", "chat", { port: replica.port });
    served = await serveGateway(platform, { routes: { "chat/completions": { maxBodyBytes: 1024 } } }, binding);
  });

  afterAll(async () => {
    await served?.close();
    await stopAllReplicas();
  });

  const chat = (secret: string, init: { body?: BodyInit; headers?: Record<string, string> } = {}) =>
    fetch(`${served.url}/endpoint/acme/chat/v1/chat/completions`, {
      method: "POST",
      headers: { ...bearer(secret), "content-type": "application/json", ...init.headers },
      body: init.body ?? JSON.stringify({ model: "test-model", messages: [{ role: "user", content: "hi" }] }),
      ...(init.body instanceof ReadableStream ? { duplex: "half" } : {}),
    } as RequestInit);

  it("over its per-minute limit a key gets 429 with Retry-After, and the replica sees nothing", async () => {
    // Prepare
    const key = await platform.key("acme", "chat", { rate_limit_per_minute: 3 });
    const admitted = [];
    for (let i = 0; i < 3; i++) admitted.push((await chat(key.secret)).status);
    const before = (await replica.stats()).requests;

    // Act
    const limited = await chat(key.secret);
    const body = (await limited.json()) as { error: { code: string; type: string } };
    const after = (await replica.stats()).requests;

    // Assess
    expect(admitted).toEqual([200, 200, 200]);
    expect(limited.status).toBe(429);
    expect(body.error).toMatchObject({ code: "rate_limit_exceeded", type: "rate_limit_error" });
    expect(Number(limited.headers.get("retry-after"))).toBe(60);
    expect(after).toBe(before);
  });

  it("the sliding window admits the key again as the last minute's requests age out", async () => {
    // Prepare
    const key = await platform.key("acme", "chat", { rate_limit_per_minute: 2 });
    await chat(key.secret);
    await chat(key.secret);

    // Act
    clock.advance(60_000);
    const atBoundary = await chat(key.secret);
    clock.advance(31_000);
    const halfDecayed = await chat(key.secret);

    // Assess
    expect(atBoundary.status).toBe(429);
    expect(Number(atBoundary.headers.get("retry-after"))).toBe(1);
    expect(halfDecayed.status).toBe(200);
  });

  it("a declared Content-Length over the route's limit gets 413 before any upstream call", async () => {
    // Prepare
    const key = await platform.key("acme", "chat");
    const before = (await replica.stats()).requests;

    // Act
    const response = await chat(key.secret, { body: JSON.stringify({ model: "test-model", prompt: "x".repeat(2000) }) });
    const body = (await response.json()) as { error: { code: string } };

    // Assess
    expect(response.status).toBe(413);
    expect(body.error.code).toBe("payload_too_large");
    expect((await replica.stats()).requests).toBe(before);
  });

  it("a chunked body that grows past the limit while streaming gets 413", async () => {
    // Prepare
    const key = await platform.key("acme", "chat");
    const chunk = new TextEncoder().encode("x".repeat(600));
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(chunk);
        controller.enqueue(chunk);
        controller.close();
      },
    });

    // Act
    const response = await chat(key.secret, { body: stream });
    const body = (await response.json()) as { error: { code: string } };

    // Assess
    expect(response.status).toBe(413);
    expect(body.error.code).toBe("payload_too_large");
  });

  it("a chunked JSON body that passes the limit is refused before any upstream call (JSON bodies are read whole to be rewritten), the 413 closes the connection", async () => {
    // Prepare: a chunked upload (no declared length), 3 x 600 bytes against a 1024-byte limit.
    const key = await platform.key("acme", "chat");
    // The test before leaves a cut-off upload of its own, which the replica may record a moment
    // later: read the counters once they have stayed the same for 200 ms.
    let before = (await replica.stats()).bodies;
    for (let quiet = 0, reads = 0; quiet < 4 && reads < 40; reads++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      const now = (await replica.stats()).bodies;
      quiet = JSON.stringify(now) === JSON.stringify(before) ? quiet + 1 : 0;
      before = now;
    }
    const chunk = new TextEncoder().encode("x".repeat(600));
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      async pull(controller) {
        if (sent === 3) {
          controller.close();
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
        sent++;
        controller.enqueue(chunk);
      },
    });

    // Act
    const response = await chat(key.secret, { body: stream });
    const body = (await response.json()) as { error: { code: string } };
    await new Promise((resolve) => setTimeout(resolve, 200));
    const after = (await replica.stats()).bodies;

    // Assess
    expect(response.status).toBe(413);
    expect(body.error.code).toBe("payload_too_large");
    expect(after).toEqual(before);
    expect(response.headers.get("connection")).toBe("close");
  });

  it("every POST route has a body limit and bounded timeouts", () => {
    for (const definition of Object.values(ROUTE_DEFINITIONS)) {
      if (definition.method === "POST") expect(definition.maxBodyBytes).toBeGreaterThan(0);
      expect(definition.firstByteTimeoutMs).toBeLessThanOrEqual(300_000);
      expect(definition.idleTimeoutMs).toBeLessThanOrEqual(60_000);
    }
  });
});

describe("gateway: a key's rate limit shared by several gateway instances (rateLimitScope: shared, as in Lambda)", () => {
  const platform = new TestPlatform();
  let replica: ReplicaProcess;
  const served: ServedGateway[] = [];

  beforeAll(async () => {
    await platform.workload("acme", { slug: "chat" });
    replica = await startReplica({ id: platform.replicaIdFor("acme", "chat"), serverSecret: platform.ctx.serverSecret });
    await platform.replica("acme", "chat", { port: replica.port });
    for (let i = 0; i < 2; i++) served.push(await serveGateway(platform, { rateLimitScope: "shared" }));
  });

  afterAll(async () => {
    for (const gateway of served) await gateway.close();
    await stopAllReplicas();
  });

  it("two instances together admit the key's limit, not twice it, and the replica sees only those", async () => {
    // Prepare
    const key = await platform.key("acme", "chat", { rate_limit_per_minute: 4 });
    const before = (await replica.stats()).requests;
    // Act: alternate between the instances, as a load balancer would.
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++) {
      const response = await fetch(`${served[i % 2]?.url}/endpoint/acme/chat/v1/chat/completions`, {
        method: "POST",
        headers: { ...bearer(key.secret), "content-type": "application/json" },
        body: JSON.stringify({ model: "test-model", messages: [{ role: "user", content: "hi" }] }),
      });
      statuses.push(response.status);
      await response.text();
    }
    // Assess
    expect(statuses.filter((s) => s === 200)).toHaveLength(4);
    expect(statuses.filter((s) => s === 429)).toHaveLength(4);
    expect((await replica.stats()).requests - before).toBe(4);
  });
});
