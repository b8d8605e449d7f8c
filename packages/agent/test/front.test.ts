import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createSelfSignedCertificate, ReplicaFront } from "../src";
import { frontRequest } from "./support/front-client";
import { freePort } from "./support/processes";

const SECRET = "ik_rep_0123456789abcdefghijklmnopqrst";
const certificate = createSelfSignedCertificate("inferencekey replica front test", new Date("2026-06-01T10:00:00Z"));

describe("ReplicaFront", () => {
  let backend: Server;
  let backendPort: number;
  const seen: { url?: string; headers: IncomingMessage["headers"]; body: string }[] = [];
  const fronts: ReplicaFront[] = [];

  beforeAll(async () => {
    // A backend that records what reaches it and answers with what it got.
    backend = createServer((req, res) => {
      let body = "";
      req.on("data", (chunk: Buffer) => {
        body += chunk.toString();
      });
      req.on("end", () => {
        seen.push({ url: req.url, headers: req.headers, body });
        res.writeHead(200, { "content-type": "application/json", connection: "keep-alive", "x-backend": "yes" });
        res.end(JSON.stringify({ url: req.url, bytes: body.length }));
      });
    });
    await new Promise<void>((done) => backend.listen(0, "127.0.0.1", () => done()));
    backendPort = (backend.address() as AddressInfo).port;
  });

  afterEach(async () => {
    await Promise.all(fronts.splice(0).map((front) => front.close()));
    seen.length = 0;
  });

  afterAll(async () => {
    backend.closeAllConnections();
    await new Promise<void>((done) => backend.close(() => done()));
  });

  async function front(over: Partial<Parameters<typeof ReplicaFront.listen>[0]> = {}): Promise<ReplicaFront> {
    const opened = await ReplicaFront.listen({ host: "127.0.0.1", port: 0, certificate, secret: SECRET, backendPort, ...over });
    fronts.push(opened);
    return opened;
  }

  it.each([
    ["no Authorization", undefined],
    ["a wrong secret", "Bearer ik_rep_wrongwrongwrongwrongwrongwrongwr"],
    ["the secret without the Bearer scheme", SECRET],
    ["the secret with a suffix", `Bearer ${SECRET}x`],
  ])("refuses %s with 401 on every path; the backend never sees the request", async (_name, authorization) => {
    // Prepare
    const { port } = await front();

    // Act
    const answers = await Promise.all(
      ["/v1/chat/completions", "/health", "/metrics", "/api/tags", "/anything"].map((path) =>
        frontRequest(port, path, { method: "POST", body: "{}", ...(authorization === undefined ? {} : { authorization }) }),
      ),
    );

    // Assess
    expect(answers.map((a) => a.status)).toEqual([401, 401, 401, 401, 401]);
    expect(JSON.parse(answers[0]?.body ?? "{}")).toMatchObject({ error: { code: "unauthorized" } });
    expect(seen).toEqual([]);
  });

  it("serves its certificate and proxies an authorized request with the secret removed", async () => {
    // Prepare
    const { port } = await front();

    // Act
    const answer = await frontRequest(port, "/v1/models?x=1", {
      authorization: `Bearer ${SECRET}`,
      headers: { "x-request-id": "req_1", connection: "keep-alive, x-hop", "x-hop": "dropped" },
    });

    // Assess
    expect(answer.status).toBe(200);
    expect(answer.certificateSha256).toBe(certificate.sha256);
    expect(answer.headers["x-backend"]).toBe("yes");
    expect(seen[0]?.url).toBe("/v1/models?x=1");
    expect(seen[0]?.headers.authorization).toBeUndefined();
    expect(seen[0]?.headers["x-request-id"]).toBe("req_1");
    expect(seen[0]?.headers["x-hop"]).toBeUndefined();
    expect(seen[0]?.headers.host).toBe(`127.0.0.1:${backendPort}`);
  });

  it("sends the backend its own key in place of the caller's, for backends given one", async () => {
    // Prepare
    const { port } = await front({ backendAuthorization: "Bearer backend-key" });

    // Act
    const answer = await frontRequest(port, "/v1/models", { authorization: `Bearer ${SECRET}` });

    // Assess
    expect(answer.status).toBe(200);
    expect(seen[0]?.headers.authorization).toBe("Bearer backend-key");
  });

  it("streams a request body to the backend", async () => {
    // Prepare
    const { port } = await front();
    const body = "x".repeat(2 * 1024 * 1024);

    // Act
    const answer = await frontRequest(port, "/v1/audio/transcriptions", { method: "POST", authorization: `Bearer ${SECRET}`, body });

    // Assess
    expect(JSON.parse(answer.body)).toEqual({ url: "/v1/audio/transcriptions", bytes: body.length });
  });

  it("bounds the request head: headers over the limit get 431 and reach nothing", async () => {
    // Prepare
    const { port } = await front({ limits: { maxHeaderBytes: 4096 } });

    // Act
    const answer = await frontRequest(port, "/v1/models", { authorization: `Bearer ${SECRET}`, headers: { "x-big": "y".repeat(8192) } });

    // Assess
    expect(answer.status).toBe(431);
    expect(seen).toEqual([]);
  });

  it("answers 502 when the backend is not listening", async () => {
    // Prepare
    const { port } = await front({ backendPort: await freePort() });

    // Act
    const answer = await frontRequest(port, "/v1/models", { authorization: `Bearer ${SECRET}` });

    // Assess
    expect(answer.status).toBe(502);
    expect(JSON.parse(answer.body)).toMatchObject({ error: { code: "backend_unavailable" } });
  });

  it("cannot listen on a port that is taken, and says so", async () => {
    // Prepare
    const taken = await front();

    // Act / Assess
    await expect(ReplicaFront.listen({ host: "127.0.0.1", port: taken.port, certificate, secret: SECRET, backendPort })).rejects.toThrow(/EADDRINUSE/);
  });
});
