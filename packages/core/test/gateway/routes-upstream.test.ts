import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { replicaSecret } from "../../src/replicas";
import { readUsage } from "../../src/usage";
import { bearer, rawRequest, type ServedGateway, serveGateway, GATEWAY_BINDINGS, TestPlatform } from "./support";

interface ErrorBody {
  error: { code: string; message: string; type: string; task_type?: string; routes?: string[] };
}

describe.each(GATEWAY_BINDINGS)("gateway: routes per modality and what it makes of replica answers ($binding binding)", ({ binding }) => {
  const platform = new TestPlatform();
  let fake: Server;
  let served: ServedGateway;
  let behave: (req: IncomingMessage, res: ServerResponse) => void = (_req, res) => res.end("{}");
  const seen: { method?: string; url?: string; headers: IncomingMessage["headers"] }[] = [];
  const keys = new Map<string, string>();

  beforeAll(async () => {
    // A hand-rolled replica whose answers each test decides.
    fake = createServer((req, res) => {
      seen.push({ method: req.method, url: req.url, headers: req.headers });
      req.resume();
      req.on("end", () => behave(req, res));
    });
    await new Promise<void>((done) => fake.listen(0, "127.0.0.1", () => done()));
    const port = (fake.address() as AddressInfo).port;
    await platform.workload("acme", { slug: "chat" });
    await platform.workload("acme", { slug: "rerank", task_type: "reranker" });
    await platform.workload("acme", { slug: "img", task_type: "text2image" });
    await platform.replica("acme", "chat", { port });
    await platform.replica("acme", "img", { port });
    await platform.replica("acme", "rerank", { port });
    keys.set("chat", (await platform.key("acme", "chat")).secret);
    keys.set("rerank", (await platform.key("acme", "rerank")).secret);
    keys.set("img", (await platform.key("acme", "img")).secret);
    served = await serveGateway(platform, {
      routes: { "chat/completions": { firstByteTimeoutMs: 300, idleTimeoutMs: 300 } },
    }, binding);
  });

  afterAll(async () => {
    await served?.close();
    fake.closeAllConnections();
    await new Promise<void>((done) => fake.close(() => done()));
  });

  const call = (workload: string, route: string, init: { method?: string; headers?: Record<string, string>; body?: string } = {}) =>
    fetch(`${served.url}/endpoint/acme/${workload}/v1/${route}`, {
      method: init.method ?? "POST",
      headers: { ...bearer(keys.get(workload) ?? ""), "content-type": "application/json", ...init.headers },
      ...(init.method === "GET" ? {} : { body: init.body ?? JSON.stringify({ model: "test-model", messages: [] }) }),
    });

  it("a route outside the workload's task_type answers 404 naming the task_type and its routes, with no upstream call", async () => {
    // Prepare
    const before = seen.length;

    // Act
    const responses = await Promise.all(["embeddings", "images/generations", "v1/chat/completions", "nope"].map((r) => call("chat", r)));
    const bodies = (await Promise.all(responses.map((r) => r.json()))) as ErrorBody[];

    // Assess
    expect(responses.map((r) => r.status)).toEqual([404, 404, 404, 404]);
    for (const body of bodies) {
      expect(body.error).toMatchObject({ code: "route_not_served", type: "invalid_request_error", task_type: "text2text" });
      expect(body.error.routes).toEqual(["chat/completions", "completions", "models"]);
      expect(body.error.message).toContain("text2text");
      expect(body.error.message).toContain("/v1/chat/completions");
    }
    expect(seen.length).toBe(before);
  });

  it("a job task type's sync routes point to its /v1/jobs", async () => {
    // Act
    const response = await call("rerank", "chat/completions");
    const body = (await response.json()) as ErrorBody;

    // Assess
    expect(response.status).toBe(404);
    expect(body.error.code).toBe("route_not_served");
    expect(body.error.message).toContain("reranker");
    expect(body.error.message).toContain("/v1/jobs");
    expect(body.error.routes).toEqual(["jobs", "rerank", "models"]);
  });

  it("an images body nested deeper than 64 levels is a 400 naming the limit, with no upstream call", async () => {
    // Prepare
    const before = seen.length;

    // Act
    const response = await call("img", "images/generations", { body: `{"prompt":"x","extra":${"[".repeat(60_000)}${"]".repeat(60_000)}}` });
    const body = (await response.json()) as { error: { code: string; message: string } };

    // Assess
    expect(response.status).toBe(400);
    expect(body.error.code).toBe("invalid_request_body");
    expect(body.error.message).toContain("64 levels");
    expect(seen.length).toBe(before);
  });

  it("a wrong method is 405 with Allow; a path outside the grammar is 404 not_found", async () => {
    // Act
    const wrongMethod = await call("chat", "chat/completions", { method: "GET" });
    const outside = await rawRequest(served.url, { path: "/v1/chat/completions" });

    // Assess
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.get("allow")).toBe("POST");
    expect(outside.status).toBe(404);
    expect((JSON.parse(outside.body) as ErrorBody).error.code).toBe("not_found");
  });

  it("the replica gets its own secret, a fixed path and no client credentials, cookies or forwarding headers", async () => {
    // Prepare
    behave = (_req, res) => {
      res.writeHead(200, { "content-type": "application/json", "set-cookie": "replica=1", connection: "close", "x-internal": "kept" });
      res.end('{"ok":true}');
    };

    // Act
    const response = await call("chat", "chat/completions", {
      headers: { cookie: "session=abc", "x-forwarded-host": "evil.example", "proxy-authorization": "Basic eA==", te: "trailers" },
    });
    const last = seen.at(-1);

    // Assess
    expect(response.status).toBe(200);
    expect(response.headers.get("set-cookie")).toBeNull();
    expect(response.headers.get("x-internal")).toBe("kept");
    expect(last?.url).toBe("/v1/chat/completions");
    expect(last?.headers.authorization).toBe(`Bearer ${replicaSecret(platform.ctx.serverSecret, platform.replicaIdFor("acme", "chat"))}`);
    expect(last?.headers.host).toMatch(/^127\.0\.0\.1:\d+$/);
    for (const name of ["cookie", "x-forwarded-host", "proxy-authorization", "te", "x-scale-up-timeout"]) {
      expect(last?.headers[name], name).toBeUndefined();
    }
  });

  it("replica redirects are never followed", async () => {
    // Prepare
    let followed = 0;
    behave = (req, res) => {
      if (req.url !== "/v1/chat/completions") followed++;
      res.writeHead(302, { location: "http://127.0.0.1:1/steal" });
      res.end();
    };

    // Act
    const response = await call("chat", "chat/completions");
    const body = (await response.json()) as ErrorBody;

    // Assess
    expect(response.status).toBe(502);
    expect(body.error.code).toBe("upstream_bad_response");
    expect(followed).toBe(0);
  });

  it("a replica refusing the gateway's secret is a 502, not a 401 blaming the client's key", async () => {
    behave = (_req, res) => {
      res.writeHead(401, { "content-type": "application/json" });
      res.end('{"error":{"message":"Unauthorized"}}');
    };
    const response = await call("chat", "chat/completions");
    expect(response.status).toBe(502);
    expect(((await response.json()) as ErrorBody).error.code).toBe("upstream_bad_response");
  });

  it("the replica's own OpenAI errors on a served route pass through", async () => {
    behave = (_req, res) => {
      res.writeHead(400, { "content-type": "application/json" });
      res.end('{"error":{"message":"max_tokens too large","type":"BadRequestError","code":400}}');
    };
    const response = await call("chat", "chat/completions");
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ error: { message: "max_tokens too large", type: "BadRequestError", code: 400 } });
  });

  it("no response headers within the first-byte timeout is a 504 upstream_timeout", async () => {
    behave = () => undefined;
    const response = await call("chat", "chat/completions");
    expect(response.status).toBe(504);
    expect(((await response.json()) as ErrorBody).error.code).toBe("upstream_timeout");
  });

  it("a stream that goes silent longer than the idle timeout is cut", async () => {
    // Prepare
    behave = (_req, res) => {
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.write('data: {"choices":[]}\n\n');
    };

    // Act
    const response = await call("chat", "chat/completions");
    const started = performance.now();
    const outcome = await response.text().then(
      () => "ended",
      () => "broken",
    );

    // Assess
    expect(response.status).toBe(200);
    expect(outcome).toBe("broken");
    expect(performance.now() - started).toBeLessThan(3000);
  });

  it("a replica that dies mid-stream breaks the client's stream (no clean end) and counts as an error", async () => {
    // Prepare: two events, then the connection is destroyed without the end of the chunked body.
    behave = (_req, res) => {
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.write('data: {"choices":[{"delta":{"content":"one"}}]}\n\n');
      setTimeout(() => {
        res.write('data: {"choices":[{"delta":{"content":"two"}}]}\n\n');
        setTimeout(() => res.socket?.destroy(), 20);
      }, 20);
    };
    const key = await platform.key("acme", "chat");

    // Act
    const response = await fetch(`${served.url}/endpoint/acme/chat/v1/chat/completions`, {
      method: "POST",
      headers: { ...bearer(key.secret), "content-type": "application/json" },
      body: JSON.stringify({ model: "test-model", stream: true, messages: [{ role: "user", content: "hi" }] }),
    });
    const received: string[] = [];
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    const outcome = await (async () => {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return "ended";
        received.push(Buffer.from(value).toString());
      }
    })().catch(() => "broken");
    await served.gateway.flushUsage();
    const usage = await readUsage(platform.ctx, "acme", "chat", { from: new Date(Date.now() - 60_000), to: new Date(Date.now() + 60_000) });

    // Assess
    expect(response.status).toBe(200);
    expect(outcome).toBe("broken");
    expect(received.join("")).toContain('"content":"two"');
    expect(usage.by_key.find((k) => k.key_id === key.id)?.errors).toBe(1);
  });

  it("models falls back to the spec when the replica has no models route", async () => {
    behave = (_req, res) => {
      res.writeHead(404);
      res.end();
    };
    const response = await call("chat", "models", { method: "GET" });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ object: "list", data: [{ id: "test-model", object: "model" }] });
  });
});
