import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { checkReady, type ProbeTarget, replicaUrl } from "../src";

let server: Server | undefined;
afterEach(() => server?.close());

async function serve(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<number> {
  server = createServer(handler);
  await new Promise<void>((r) => server?.listen(0, "127.0.0.1", r));
  return (server.address() as AddressInfo).port;
}

const json = (res: ServerResponse, status: number, body: unknown) => {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
};

const target = (port: number, over: Partial<ProbeTarget> = {}): ProbeTarget => ({
  backend: "vllm",
  host: "127.0.0.1",
  port,
  model: "meta-llama/Llama-3.1-8B-Instruct",
  secret: "ik_rep_secret",
  ...over,
});

/** A vLLM-like backend: /health, and /v1/models behind the key. */
function vllmLike(options: { health?: number; models?: string[] } = {}) {
  return (req: IncomingMessage, res: ServerResponse) => {
    if (req.url === "/health") return json(res, options.health ?? 200, {});
    if (req.url === "/v1/models") {
      if (req.headers.authorization !== "Bearer ik_rep_secret")
        return json(res, 401, { error: "Unauthorized" });
      return json(res, 200, {
        object: "list",
        data: (options.models ?? ["meta-llama/Llama-3.1-8B-Instruct"]).map((id) => ({ id })),
      });
    }
    json(res, 404, {});
  };
}

describe("checkReady (vllm, sglang, vllm-omni)", () => {
  it("is ready when /health answers 200 and /v1/models (asked with the secret) lists the model", async () => {
    const port = await serve(vllmLike());
    expect(await checkReady(target(port))).toEqual({ ok: true });
    expect(await checkReady(target(port, { backend: "sglang" }))).toEqual({ ok: true });
    expect(await checkReady(target(port, { backend: "vllm-omni" }))).toEqual({ ok: true });
  });

  it("is not ready while /health answers 503 (loading weights)", async () => {
    const port = await serve(vllmLike({ health: 503 }));
    expect(await checkReady(target(port))).toEqual({
      ok: false,
      reason: `GET http://127.0.0.1:${port}/health answered 503`,
    });
  });

  it("is not ready when the model is not served, and says what is", async () => {
    const port = await serve(vllmLike({ models: ["other-model"] }));
    expect(await checkReady(target(port))).toEqual({
      ok: false,
      reason: 'the backend serves "other-model", not "meta-llama/Llama-3.1-8B-Instruct"',
    });
  });

  it("says so when the backend refuses the replica secret", async () => {
    const port = await serve(vllmLike());
    const result = await checkReady(target(port, { secret: "wrong" }));
    expect(result).toMatchObject({
      ok: false,
      reason: expect.stringContaining("answered 401: the backend does not accept the replica secret"),
    });
  });

  it("reports a refused connection in plain words", async () => {
    const port = await serve(vllmLike());
    server?.close();
    expect(await checkReady(target(port))).toEqual({
      ok: false,
      reason: `GET http://127.0.0.1:${port}/health: connection refused`,
    });
  });

  it("reports a backend that does not answer in time", async () => {
    const port = await serve(() => {});
    const result = await checkReady(target(port), { signal: AbortSignal.timeout(100) });
    expect(result).toEqual({ ok: false, reason: `GET http://127.0.0.1:${port}/health: no answer in time` });
    server?.closeAllConnections();
  });
});

describe("checkReady (ollama)", () => {
  const tags = (names: string[]) => (req: IncomingMessage, res: ServerResponse) =>
    req.url === "/api/tags"
      ? json(res, 200, { models: names.map((name) => ({ name, model: name })) })
      : json(res, 404, {});

  it("is ready when /api/tags lists the model (a bare name matches its :latest tag)", async () => {
    const port = await serve(tags(["llama3.1:latest", "nomic-embed-text:latest"]));
    expect(await checkReady(target(port, { backend: "ollama", model: "llama3.1" }))).toEqual({ ok: true });
    expect(await checkReady(target(port, { backend: "ollama", model: "llama3.1:latest" }))).toEqual({
      ok: true,
    });
  });

  it("is not ready when the model is not pulled, says how to fix it, and flags the missing model (the agent pulls it)", async () => {
    const port = await serve(tags(["llama3.1:latest"]));
    expect(await checkReady(target(port, { backend: "ollama", model: "qwen2.5:7b" }))).toEqual({
      ok: false,
      reason: "ollama does not list model qwen2.5:7b (pull it: ollama pull qwen2.5:7b)",
      modelMissing: true,
    });
  });
});

describe("replicaUrl", () => {
  it.each([
    ["127.0.0.1", "http://127.0.0.1:8000/health"],
    ["0.0.0.0", "http://127.0.0.1:8000/health"],
    ["::", "http://[::1]:8000/health"],
    ["fd00::5", "http://[fd00::5]:8000/health"],
    ["gpu-box.internal", "http://gpu-box.internal:8000/health"],
  ])("reaches a replica bound to %s at %s", (host, url) => {
    expect(replicaUrl({ host, port: 8000 }, "/health")).toBe(url);
  });
});
