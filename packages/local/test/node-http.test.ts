import { Agent, request } from "node:http";
import { bootstrapAdminToken, createControlApi, MemoryStore } from "@inferencekey/core";
import { afterAll, describe, expect, it } from "vitest";
import { type HttpServerHandle, serve } from "../src/node-http";

function send(agent: Agent, url: string, body: string, token: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { method: "POST", agent, headers: { authorization: `Bearer ${token}`, "content-type": "application/json", "content-length": Buffer.byteLength(body) } },
      (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode ?? 0));
      },
    );
    req.setTimeout(5000, () => req.destroy(new Error("timed out")));
    req.on("error", reject);
    req.end(body);
  });
}

describe("node:http runtime", () => {
  let server: HttpServerHandle | undefined;
  afterAll(async () => server?.close());

  it("a 413 does not poison the kept-alive connection for the next request", async () => {
    // Prepare
    const ctx = { store: new MemoryStore(), serverSecret: "s", now: () => new Date() };
    const token = (await bootstrapAdminToken(ctx))?.secret as string;
    server = await serve(createControlApi(ctx, { log: () => undefined }), { port: 0 });
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });

    // Act
    const oversized = await send(agent, `${server.url}/v1/projects`, JSON.stringify({ slug: "x".repeat(300 * 1024) }), token);
    const next = await send(agent, `${server.url}/v1/projects`, JSON.stringify({ slug: "acme" }), token);

    // Assess
    expect(oversized).toBe(413);
    expect(next).toBe(201);
    agent.destroy();
  });
});
