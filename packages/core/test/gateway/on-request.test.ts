import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DataPlaneRequest } from "../../src/gateway";
import { bearer, GATEWAY_BINDINGS, type ServedGateway, serveGateway, TestPlatform } from "./support";

describe.each(GATEWAY_BINDINGS)("gateway: onRequest tells every answered API request ($binding binding)", ({ binding }) => {
  const platform = new TestPlatform();
  const told: DataPlaneRequest[] = [];
  let replica: Server;
  let served: ServedGateway;
  let key: { id: string; secret: string };

  beforeAll(async () => {
    replica = createServer((req, res) => {
      req.resume();
      req.on("end", () => res.writeHead(200, { "content-type": "application/json" }).end("{}"));
    });
    await new Promise<void>((done) => replica.listen(0, "127.0.0.1", () => done()));
    await platform.workload("acme", { slug: "chat" });
    await platform.replica("acme", "chat", { port: (replica.address() as AddressInfo).port });
    key = await platform.key("acme", "chat");
    served = await serveGateway(platform, { onRequest: (request) => told.push(request) }, binding);
  });

  afterAll(async () => {
    await served?.close();
    replica.closeAllConnections();
    await new Promise<void>((done) => replica.close(() => done()));
  });

  const call = (route: string, secret: string) =>
    fetch(`${served.url}/endpoint/acme/chat/v1/${route}`, {
      method: "POST",
      headers: { ...bearer(secret), "content-type": "application/json" },
      body: JSON.stringify({ model: "test-model", messages: [] }),
    }).then((response) => response.arrayBuffer().then(() => response.status));

  it("answered, refused by route, refused by key: each is told once, with the key id and never the key", async () => {
    // Prepare
    told.length = 0;

    // Act
    const statuses = [await call("chat/completions", key.secret), await call("embeddings", key.secret), await call("chat/completions", "not-a-key")];

    // Assess
    expect(statuses).toEqual([200, 404, 401]);
    expect(told).toEqual([
      expect.objectContaining({ project: "acme", workload: "chat", method: "POST", route: "chat/completions", status: 200, keyId: key.id }),
      expect.objectContaining({ route: "embeddings", status: 404, keyId: key.id }),
      expect.objectContaining({ route: "chat/completions", status: 401 }),
    ]);
    expect(told[2]).not.toHaveProperty("keyId");
    for (const request of told) expect(request.latencyMs).toBeGreaterThanOrEqual(0);
    expect(JSON.stringify(told)).not.toContain(key.secret);
  });
});
