import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseEndpointPath } from "../../src/gateway";
import { bearer, rawRequest, type ReplicaProcess, type ServedGateway, serveGateway, GATEWAY_BINDINGS, startReplica, stopAllReplicas, TestPlatform } from "./support";

describe.each(GATEWAY_BINDINGS)("gateway: nothing steers it anywhere but the registered replica (SSRF) ($binding binding)", ({ binding }) => {
  const platform = new TestPlatform();
  let replica: ReplicaProcess;
  let served: ServedGateway;
  let canary: Server;
  let canaryHits = 0;
  let canaryOrigin = "";
  let key = "";

  beforeAll(async () => {
    canary = createServer((_req, res) => {
      canaryHits++;
      res.end("canary");
    });
    await new Promise<void>((done) => canary.listen(0, "127.0.0.1", () => done()));
    canaryOrigin = `http://127.0.0.1:${(canary.address() as AddressInfo).port}`;
    await platform.workload("acme", { slug: "chat" });
    replica = await startReplica({ id: platform.replicaIdFor("acme", "chat"), serverSecret: platform.ctx.serverSecret });
    await platform.replica("acme", "chat", { port: replica.port });
    key = (await platform.key("acme", "chat")).secret;
    served = await serveGateway(platform, {}, binding);
  });

  afterAll(async () => {
    await served?.close();
    await new Promise<void>((done) => canary.close(() => done()));
    await stopAllReplicas();
  });

  const body = JSON.stringify({ model: "test-model", messages: [{ role: "user", content: "hi" }] });
  const post = (path: string, headers: Record<string, string> = {}, payload = body) =>
    rawRequest(served.url, {
      method: "POST",
      path,
      headers: { ...bearer(key), "content-type": "application/json", "content-length": String(Buffer.byteLength(payload)), ...headers },
      body: payload,
    });

  it("dot segments, encoded dots and slashes, and absolute URLs in the path never reach another target", async () => {
    // Prepare
    const before = await replica.stats();
    const host = canaryOrigin.slice("http://".length);
    const paths = [
      "/endpoint/acme/chat/v1/../../../v1/chat/completions",
      "/endpoint/acme/chat/v1/%2e%2e/%2e%2e/%2e%2e/admin",
      "/endpoint/acme/chat/v1/chat%2Fcompletions",
      "/endpoint/acme/chat/v1/chat/completions/..%2F..%2F..%2Fadmin",
      "/endpoint/acme/chat/v1/%2E%2E%2F%2E%2E%2Fmodels",
      "/endpoint/acme%2Fchat/chat/v1/chat/completions",
      "/endpoint/acme/chat%2F..%2Fother/v1/chat/completions",
      `/endpoint/acme/chat/v1/${canaryOrigin}/v1/chat/completions`,
      `/endpoint/acme/chat/v1/chat/completions@${host}`,
      `//${host}/v1/chat/completions`,
      `${canaryOrigin}/v1/chat/completions`,
    ];

    // Act
    const statuses = [];
    for (const path of paths) statuses.push((await post(path)).status);
    const after = await replica.stats();

    // Assess
    expect(statuses.every((s) => s === 404)).toBe(true);
    expect(canaryHits).toBe(0);
    expect(after.requests).toBe(before.requests);
  });

  it("an absolute-form request target naming another host still goes to the registered replica", async () => {
    // Act
    const response = await post(`${canaryOrigin}/endpoint/acme/chat/v1/chat/completions`);

    // Assess
    expect(response.status).toBe(200);
    expect(canaryHits).toBe(0);
  });

  it("Host, X-Forwarded-Host, X-Original-URL, X-Rewrite-URL and Forwarded headers are ignored", async () => {
    // Prepare
    const before = (await replica.stats()).byRoute["/v1/chat/completions"] ?? 0;
    const host = canaryOrigin.slice("http://".length);
    const headerSets: Record<string, string>[] = [
      { host },
      { "x-forwarded-host": host, "x-forwarded-proto": "http", "x-forwarded-port": host.split(":")[1] ?? "" },
      { "x-original-url": `${canaryOrigin}/admin` },
      { "x-rewrite-url": "/admin" },
      { forwarded: `host=${host};proto=http` },
      { "x-forwarded-for": "127.0.0.1", "x-real-ip": "127.0.0.1" },
    ];

    // Act
    const statuses = [];
    for (const headers of headerSets) statuses.push((await post("/endpoint/acme/chat/v1/chat/completions", headers)).status);
    const after = (await replica.stats()).byRoute["/v1/chat/completions"] ?? 0;

    // Assess
    expect(statuses).toEqual(headerSets.map(() => 200));
    expect(after - before).toBe(headerSets.length);
    expect(canaryHits).toBe(0);
  });

  it("URLs in the body and the query string reach only the replica, as data", async () => {
    // Prepare
    const payload = JSON.stringify({
      model: "test-model",
      url: `${canaryOrigin}/x`,
      base_url: canaryOrigin,
      messages: [
        {
          role: "user",
          content: [
            { type: "text", text: `fetch ${canaryOrigin}/secret` },
            { type: "image_url", image_url: { url: `${canaryOrigin}/image.png` } },
          ],
        },
      ],
    });

    // Act
    const response = await post(`/endpoint/acme/chat/v1/chat/completions?url=${encodeURIComponent(canaryOrigin)}&host=${canaryOrigin}`, {}, payload);

    // Assess
    expect(response.status).toBe(200);
    expect(canaryHits).toBe(0);
  });

  it("the path parser only accepts slugs and never yields a route with dots or encoded separators as a name", () => {
    expect(parseEndpointPath("/endpoint/acme/chat/v1/chat/completions")).toEqual({
      kind: "api",
      project: "acme",
      workload: "chat",
      route: "chat/completions",
    });
    expect(parseEndpointPath("/endpoint/../chat/v1/models")).toBeUndefined();
    expect(parseEndpointPath("/endpoint/acme/%2e%2e/v1/models")).toBeUndefined();
    expect(parseEndpointPath("/endpoint/acme/chat%2Fx/v1/models")).toBeUndefined();
    expect(parseEndpointPath("/endpoint/ACME/chat/v1/models")).toBeUndefined();
    expect(parseEndpointPath("/endpoint/acme/chat/v2/models")).toBeUndefined();
  });
});
