import { createServer, request as httpRequest, type Server } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fetchTransport, nodeHttpTransport, type UpstreamTransport } from "../../src/gateway";
import { readUsage } from "../../src/usage";
import {
  bearer,
  freePort,
  type ReplicaProcess,
  type ServedGateway,
  serveGateway,
  startReplica,
  stopAllReplicas,
  TestPlatform,
} from "./support";

const words = (n: number) => Array.from({ length: n }, (_, i) => `w${i}`).join(" ");

async function until(check: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 25));
  }
  return check();
}

describe.each([
  { transport: "undici (default)", binding: "direct" as const, make: (): UpstreamTransport | undefined => undefined },
  { transport: "undici (default)", binding: "web" as const, make: (): UpstreamTransport | undefined => undefined },
  { transport: "node:http", binding: "direct" as const, make: (): UpstreamTransport | undefined => nodeHttpTransport() },
  { transport: "fetch", binding: "direct" as const, make: (): UpstreamTransport | undefined => fetchTransport() },
])("gateway proxying over $transport ($binding binding)", ({ binding, make }) => {
  const platform = new TestPlatform();
  let slow: ReplicaProcess;
  let pair: ReplicaProcess;
  let served: ServedGateway;
  let slowKey: string;
  let pairKey: string;
  let flaky: Server;
  let flakyKey: string;
  const flakySeen = { requests: 0, dropped: 0 };

  beforeAll(async () => {
    await platform.workload("acme", { slug: "slow" });
    await platform.workload("acme", { slug: "pair" });
    slow = await startReplica({ id: platform.replicaIdFor("acme", "slow"), serverSecret: platform.ctx.serverSecret, chunkDelayMs: 100 });
    await platform.replica("acme", "slow", { port: slow.port });
    // Failover pair: slot 0 is registered at a port nothing listens on; slot 1 is real.
    pair = await startReplica({ id: platform.replicaIdFor("acme", "pair", 1), serverSecret: platform.ctx.serverSecret });
    await platform.replica("acme", "pair", { slot: 0, port: await freePort() });
    await platform.replica("acme", "pair", { slot: 1, port: pair.port });
    // A replica that drops every connection on its second request, as if it had closed the kept-alive
    // connection just as the gateway reused it.
    flaky = createServer((req, res) => {
      flakySeen.requests++;
      const socket = req.socket as typeof req.socket & { served?: number };
      socket.served = (socket.served ?? 0) + 1;
      if (socket.served === 2) {
        flakySeen.dropped++;
        socket.destroy();
        return;
      }
      req.resume();
      req.on("end", () => {
        res.writeHead(200, { "content-type": "application/json", connection: "keep-alive" });
        res.end(JSON.stringify({ object: "chat.completion", choices: [], usage: { prompt_tokens: 1, completion_tokens: 1 } }));
      });
    });
    await new Promise<void>((done) => flaky.listen(0, "127.0.0.1", () => done()));
    await platform.workload("acme", { slug: "flaky" });
    await platform.replica("acme", "flaky", { port: (flaky.address() as { port: number }).port });
    flakyKey = (await platform.key("acme", "flaky")).secret;
    slowKey = (await platform.key("acme", "slow")).secret;
    pairKey = (await platform.key("acme", "pair")).secret;
    const transport = make();
    served = await serveGateway(platform, transport === undefined ? {} : { transport }, binding);
  });

  afterAll(async () => {
    await served?.close();
    await stopAllReplicas();
    flaky?.closeAllConnections();
    await new Promise<void>((done) => (flaky === undefined ? done() : flaky.close(() => done())));
  });

  it("a kept-alive connection the replica closed as it was reused is retried once on the same replica", async () => {
    // Act: the second request reuses the first one's connection, which the replica drops.
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) {
      const response = await fetch(`${served.url}/endpoint/acme/flaky/v1/chat/completions`, {
        method: "POST",
        headers: { ...bearer(flakyKey), "content-type": "application/json" },
        body: JSON.stringify({ model: "test-model", messages: [{ role: "user", content: `request ${i}` }] }),
      });
      statuses.push(response.status);
      await response.text();
    }

    // Assess: every client request succeeded, and the replica saw at least one dropped attempt.
    expect(statuses).toEqual([200, 200, 200]);
    expect(flakySeen.dropped).toBeGreaterThanOrEqual(1);
    expect(flakySeen.requests).toBe(3 + flakySeen.dropped);
  });

  it("streaming: the first chunk reaches the client before the replica has sent its last", async () => {
    // Prepare: 10 words at 100 ms per chunk, so the replica needs about a second for the whole answer.
    const started = performance.now();
    const arrivals: number[] = [];

    // Act
    const response = await fetch(`${served.url}/endpoint/acme/slow/v1/chat/completions`, {
      method: "POST",
      headers: { ...bearer(slowKey), "content-type": "application/json" },
      body: JSON.stringify({ model: "test-model", stream: true, messages: [{ role: "user", content: words(9) }] }),
    });
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    let text = "";
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      arrivals.push(performance.now() - started);
      text += Buffer.from(value).toString();
    }

    // Assess
    expect(response.headers.get("content-type")).toContain("text/event-stream");
    expect(text).toContain("data: [DONE]");
    const first = arrivals[0] ?? Number.POSITIVE_INFINITY;
    const last = arrivals.at(-1) ?? 0;
    expect(first).toBeLessThan(400);
    expect(last - first).toBeGreaterThan(700);
  });

  it("a client that disconnects mid-stream cancels the upstream request", async () => {
    // Prepare
    const before = (await slow.stats()).cancelled;
    const url = new URL(`${served.url}/endpoint/acme/slow/v1/chat/completions`);
    const body = JSON.stringify({ model: "test-model", stream: true, max_tokens: 60, messages: [{ role: "user", content: words(59) }] });

    // Act: read the first chunk, then drop the connection.
    await new Promise<void>((done, fail) => {
      const req = httpRequest(
        {
          host: url.hostname,
          port: url.port,
          path: url.pathname,
          method: "POST",
          headers: { ...bearer(slowKey), "content-type": "application/json", "content-length": Buffer.byteLength(body) },
        },
        (res) => {
          res.once("data", () => {
            req.destroy();
            done();
          });
        },
      );
      req.on("error", () => undefined);
      req.once("error", fail);
      req.end(body);
    });
    const cancelled = await until(async () => (await slow.stats()).cancelled > before, 3000);
    const stopped = await until(async () => (await slow.stats()).running === 0, 3000);
    await served.gateway.flushUsage();
    const usage = await readUsage(platform.ctx, "acme", "slow", { from: new Date(Date.now() - 60_000), to: new Date(Date.now() + 60_000) });

    // Assess
    expect(cancelled).toBe(true);
    expect(stopped).toBe(true);
    expect(usage.totals.cancelled).toBe(1);
    expect(usage.totals.errors).toBe(0);
  });

  it("failover: with one of two replicas refusing connections, no client request fails", async () => {
    // Prepare: small bodies (read whole), a large one (streamed with replay) and a chunked one.
    const large = JSON.stringify({ model: "test-model", messages: [{ role: "user", content: "x".repeat(100_000) }], max_tokens: 1 });
    const requests: (() => Promise<Response>)[] = [];
    for (let i = 0; i < 12; i++) {
      requests.push(() =>
        fetch(`${served.url}/endpoint/acme/pair/v1/chat/completions`, {
          method: "POST",
          headers: { ...bearer(pairKey), "content-type": "application/json" },
          body: JSON.stringify({ model: "test-model", stream: i % 2 === 0, messages: [{ role: "user", content: `request ${i}` }] }),
        }),
      );
    }
    for (let i = 0; i < 4; i++) {
      requests.push(() =>
        fetch(`${served.url}/endpoint/acme/pair/v1/chat/completions`, {
          method: "POST",
          headers: { ...bearer(pairKey), "content-type": "application/json" },
          body: large,
        }),
      );
      requests.push(() =>
        fetch(`${served.url}/endpoint/acme/pair/v1/chat/completions`, {
          method: "POST",
          headers: { ...bearer(pairKey), "content-type": "application/json" },
          body: new Blob([large]).stream(),
          duplex: "half",
        } as RequestInit),
      );
    }

    // Act
    const responses = await Promise.all(requests.map((send) => send()));
    const bodies = await Promise.all(responses.map((r) => r.text()));

    // Assess
    expect(responses.map((r) => r.status)).toEqual(responses.map(() => 200));
    expect(bodies.filter((b) => b.includes("echo(test-model)"))).toHaveLength(responses.length);
    expect((await pair.stats()).completed).toBeGreaterThanOrEqual(responses.length);
  });
});
