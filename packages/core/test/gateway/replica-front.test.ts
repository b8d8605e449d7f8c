import { createSelfSignedCertificate, type FrontCertificate, ReplicaFront } from "@inferencekey/agent";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fetchTransport, nodeHttpTransport, undiciTransport, type UpstreamTransport } from "../../src/gateway";
import { bearer, type ReplicaProcess, type ServedGateway, serveGateway, startReplica, stopAllReplicas, TestPlatform } from "./support";

/**
 * The gateway reaching replicas through the agent's authenticating TLS front, pinned to the
 * certificate the worker reported, on each transport the gateway has.
 */
const TRANSPORTS: { name: string; make: () => UpstreamTransport }[] = [
  { name: "undici", make: () => undiciTransport() },
  { name: "node:http", make: () => nodeHttpTransport() },
];

const NOW = new Date("2026-06-01T10:00:00Z");

interface Workload {
  slug: string;
  task_type: string;
  replica: ReplicaProcess;
  front: ReplicaFront;
  key: string;
}

describe.each(TRANSPORTS)("gateway -> replica front -> backend ($name transport)", ({ make }) => {
  const platform = new TestPlatform();
  const certificate: FrontCertificate = createSelfSignedCertificate("inferencekey replica front worker-a", NOW);
  const otherWorker: FrontCertificate = createSelfSignedCertificate("inferencekey replica front worker-b", NOW);
  const workloads = new Map<string, Workload>();
  const logs: string[] = [];
  let served: ServedGateway;

  beforeAll(async () => {
    // Prepare: each backend on loopback behind its own front, as the agent runs them; "forged"
    // records the fingerprint of another worker's certificate for a front that serves this one.
    const fleet = [
      { slug: "chat", task_type: "text2text", pinned: certificate.sha256 },
      { slug: "stt", task_type: "audio2text", pinned: certificate.sha256 },
      { slug: "forged", task_type: "text2text", pinned: otherWorker.sha256 },
    ];
    for (const { slug, task_type, pinned } of fleet) {
      await platform.workload("acme", { slug, task_type, model: `model-${slug}` });
      const id = platform.replicaIdFor("acme", slug);
      const replica = await startReplica({ id, serverSecret: platform.ctx.serverSecret, model: `model-${slug}`, chunkDelayMs: 20 });
      const front = await ReplicaFront.listen({
        host: "127.0.0.1",
        port: 0,
        certificate,
        secret: replica.secret,
        backendPort: replica.port,
        backendAuthorization: `Bearer ${replica.secret}`,
      });
      await platform.replica("acme", slug, { port: front.port, certificateSha256: pinned });
      workloads.set(slug, { slug, task_type, replica, front, key: (await platform.key("acme", slug)).secret });
    }
    served = await serveGateway(platform, { transport: make(), log: (line) => logs.push(line) });
  });

  afterAll(async () => {
    await served?.close();
    await Promise.all([...workloads.values()].map((w) => w.front.close()));
    await stopAllReplicas();
  });

  const call = (slug: string, route: string, init: RequestInit) =>
    fetch(`${served.url}/endpoint/acme/${slug}/v1/${route}`, {
      ...init,
      headers: { ...bearer(workloads.get(slug)?.key ?? ""), ...(init.headers as Record<string, string>) },
    });

  it("a JSON request reaches the backend through the front", async () => {
    // Act
    const response = await call("chat", "chat/completions", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "model-chat", messages: [{ role: "user", content: "hello" }] }),
    });
    const body = (await response.json()) as { choices: { message: { content: string } }[] };

    // Assess
    expect(response.status).toBe(200);
    expect(body.choices[0]?.message.content.length).toBeGreaterThan(0);
  });

  it("an SSE stream comes through the front event by event, not buffered to the end", async () => {
    // Act
    const started = Date.now();
    const response = await call("chat", "chat/completions", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "model-chat", stream: true, max_tokens: 8, messages: [{ role: "user", content: "one two three four five six seven" }] }),
    });
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    const arrivals: number[] = [];
    let text = "";
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      arrivals.push(Date.now() - started);
      text += new TextDecoder().decode(value);
    }

    // Assess: the replica writes a chunk every 20 ms; a buffering front would deliver them in one read.
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toContain("text/event-stream");
    expect(text.match(/^data: /gm)?.length ?? 0).toBeGreaterThan(3);
    expect(text.trimEnd().endsWith("data: [DONE]")).toBe(true);
    expect(arrivals.length).toBeGreaterThan(2);
  });

  it("a client that leaves mid-stream: the backend sees its request abandoned through the front", async () => {
    // Prepare
    const chat = workloads.get("chat");
    if (chat === undefined) throw new Error("no chat workload");
    const before = (await chat.replica.stats()).cancelled;
    const client = new AbortController();

    // Act
    const response = await call("chat", "chat/completions", {
      method: "POST",
      headers: { "content-type": "application/json" },
      // The replica echoes the prompt word by word, 20 ms apart: about 4 s of stream.
      body: JSON.stringify({ model: "model-chat", stream: true, max_tokens: 500, messages: [{ role: "user", content: "word ".repeat(200) }] }),
      signal: client.signal,
    });
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    await reader.read();
    client.abort();

    // Assess
    const deadline = Date.now() + 5_000;
    while ((await chat.replica.stats()).cancelled === before && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect((await chat.replica.stats()).cancelled).toBe(before + 1);
  });

  it("a multipart upload reaches the backend whole through the front", async () => {
    // Prepare
    const form = new FormData();
    form.append("model", "model-stt");
    form.append("file", new Blob([new Uint8Array(300_000).fill(7)], { type: "audio/wav" }), "clip.wav");

    // Act
    const response = await call("stt", "audio/transcriptions", { method: "POST", body: form });
    const body = (await response.json()) as { text: string };

    // Assess
    expect(response.status).toBe(200);
    expect(body.text).toBe("transcribed 300000 bytes of clip.wav");
  });

  it("fails closed when the front presents another certificate than the pinned one: 502, the backend sees nothing", async () => {
    // Prepare
    const forged = workloads.get("forged");
    if (forged === undefined) throw new Error("no forged workload");
    const before = (await forged.replica.stats()).requests;

    // Act
    const response = await call("forged", "chat/completions", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "model-forged", messages: [{ role: "user", content: "secret prompt" }] }),
    });
    const body = (await response.json()) as { error: { code: string } };

    // Assess
    expect(response.status).toBe(502);
    expect(body.error.code).toBe("upstream_unreachable");
    expect((await forged.replica.stats()).requests).toBe(before);
    expect(logs.join("\n")).toContain("UPSTREAM_CERTIFICATE_MISMATCH");
  });
});

describe("gateway with the fetch transport and a replica behind a TLS front", () => {
  const platform = new TestPlatform();
  const logs: string[] = [];
  let replica: ReplicaProcess;
  let front: ReplicaFront;
  let served: ServedGateway;

  beforeAll(async () => {
    await platform.workload("acme", { slug: "chat", model: "model-chat" });
    const certificate = createSelfSignedCertificate("inferencekey replica front", NOW);
    replica = await startReplica({ id: platform.replicaIdFor("acme", "chat"), serverSecret: platform.ctx.serverSecret, model: "model-chat" });
    front = await ReplicaFront.listen({ host: "127.0.0.1", port: 0, certificate, secret: replica.secret, backendPort: replica.port });
    await platform.replica("acme", "chat", { port: front.port, certificateSha256: certificate.sha256 });
    served = await serveGateway(platform, { transport: fetchTransport(), log: (line) => logs.push(line) });
  });

  afterAll(async () => {
    await served?.close();
    await front?.close();
    await stopAllReplicas();
  });

  it("refuses the replica, since fetch cannot pin its certificate, and says why in the log", async () => {
    // Prepare
    const key = (await platform.key("acme", "chat")).secret;

    // Act
    const response = await fetch(`${served.url}/endpoint/acme/chat/v1/chat/completions`, {
      method: "POST",
      headers: { ...bearer(key), "content-type": "application/json" },
      body: JSON.stringify({ model: "model-chat", messages: [] }),
    });

    // Assess
    expect(response.status).toBe(502);
    expect(logs.join("\n")).toContain("UPSTREAM_TLS_UNSUPPORTED");
    expect((await replica.stats()).requests).toBe(0);
  });
});
