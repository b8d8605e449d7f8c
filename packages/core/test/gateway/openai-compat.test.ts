import fc from "fast-check";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ChunkSource } from "../../src/gateway/exchange";
import { GatewayError } from "../../src/gateway/errors";
import { normaliseRerank, rewriteRequestBody, withoutUsageOnlyChunks } from "../../src/gateway/openai-compat";
import type { WorkloadRecord } from "../../src/workloads";
import { readUsage } from "../../src/usage";
import { bearer, type ServedGateway, serveGateway, GATEWAY_BINDINGS, startReplica, stopAllReplicas, TestPlatform } from "./support";

/**
 * Issue 18 points 3-5 through the real gateway and the TEST DOUBLE replica (test/replicas/openai-replica.mjs,
 * strict about model names like vLLM): the slug or the spec's model is accepted and the replica gets
 * the name it serves; streams are metered without the client asking, and the usage-only chunk is
 * dropped unless it asked; `/v1/rerank` answers the contract's shape for vLLM and sglang alike.
 */
describe.each(GATEWAY_BINDINGS)("gateway: model names, stream usage and rerank ($binding binding)", ({ binding }) => {
  const platform = new TestPlatform();
  const keys = new Map<string, string>();
  let served: ServedGateway;

  beforeAll(async () => {
    const workloads = [
      { slug: "chat", task_type: "text2text", backend: "vllm", model: "org/chat-model", args: [] },
      { slug: "ranker", task_type: "reranker", backend: "vllm", model: "org/rerank-model", args: [] },
      { slug: "sg-ranker", task_type: "reranker", backend: "sglang", model: "org/sg-rerank", args: ["--sglang"] },
    ];
    for (const w of workloads) {
      await platform.workload("acme", { slug: w.slug, task_type: w.task_type, backend: w.backend, model: w.model });
      const replica = await startReplica({ id: platform.replicaIdFor("acme", w.slug), serverSecret: platform.ctx.serverSecret, model: w.model, extraArgs: w.args });
      await platform.replica("acme", w.slug, { port: replica.port });
      keys.set(w.slug, (await platform.key("acme", w.slug)).secret);
    }
    served = await serveGateway(platform, {}, binding);
  });

  afterAll(async () => {
    await served?.close();
    await stopAllReplicas();
  });

  const client = (workload: string) => new OpenAI({ apiKey: keys.get(workload) ?? "", baseURL: `${served.url}/endpoint/acme/${workload}/v1`, maxRetries: 0 });
  const post = (workload: string, route: string, body: unknown) =>
    fetch(`${served.url}/endpoint/acme/${workload}/v1/${route}`, {
      method: "POST",
      headers: { ...bearer(keys.get(workload) ?? ""), "content-type": "application/json" },
      body: JSON.stringify(body),
    });

  it.each([
    ["the workload's slug", "chat"],
    ["the spec's model", "org/chat-model"],
  ])("model set to %s reaches the replica as the name it serves", async (_what, model) => {
    // Act
    const out = await client("chat").chat.completions.create({ model, messages: [{ role: "user", content: "hi there" }] });

    // Assess
    expect(out.choices[0]?.message.content).toBe("echo(org/chat-model): hi there");
    expect(out.model).toBe("org/chat-model");
  });

  it("a model name the replica does not serve gets the replica's 404, as from vLLM", async () => {
    // Act
    const response = await post("chat", "chat/completions", { model: "someone/else", messages: [{ role: "user", content: "hi" }] });

    // Assess
    expect(response.status).toBe(404);
    expect(((await response.json()) as { error: { message: string } }).error.message).toBe("The model `someone/else` does not exist.");
  });

  it("a stream whose client did not ask for usage is metered, and the usage-only chunk never reaches it (official openai client)", async () => {
    // Prepare
    const from = new Date(Date.now() - 60_000);
    await served.gateway.flushUsage();
    const before = await readUsage(platform.ctx, "acme", "chat", { from, to: new Date(Date.now() + 60_000) });

    // Act
    const stream = await client("chat").chat.completions.create({ model: "chat", messages: [{ role: "user", content: "count my words" }], stream: true });
    const chunks: OpenAI.ChatCompletionChunk[] = [];
    for await (const chunk of stream) chunks.push(chunk);
    await served.gateway.flushUsage();
    const after = await readUsage(platform.ctx, "acme", "chat", { from, to: new Date(Date.now() + 60_000) });

    // Assess
    expect(chunks.map((c) => c.choices[0]?.delta.content ?? "").join("")).toBe("echo(org/chat-model): count my words");
    expect(chunks.every((c) => c.choices.length === 1 && c.usage === undefined)).toBe(true);
    expect(after.totals.completion_tokens - before.totals.completion_tokens).toBe(4);
    expect(after.totals.prompt_tokens - before.totals.prompt_tokens).toBe(3);
    expect(after.totals.unmetered).toBe(before.totals.unmetered);
  });

  it("a stream whose client asked for usage keeps its usage chunk (official openai client)", async () => {
    // Act
    const stream = await client("chat").chat.completions.create({
      model: "chat",
      messages: [{ role: "user", content: "with usage" }],
      stream: true,
      stream_options: { include_usage: true },
    });
    const chunks: OpenAI.ChatCompletionChunk[] = [];
    for await (const chunk of stream) chunks.push(chunk);

    // Assess
    expect(chunks.at(-1)?.choices).toEqual([]);
    expect(chunks.at(-1)?.usage).toMatchObject({ prompt_tokens: 2, completion_tokens: 3 });
  });

  it("a completions stream without include_usage ends without the usage chunk, [DONE] kept", async () => {
    // Act
    const response = await post("chat", "completions", { model: "chat", prompt: "once upon", stream: true });
    const text = await response.text();

    // Assess
    expect(text.endsWith("data: [DONE]\n\n")).toBe(true);
    expect(text).not.toContain('"usage"');
    expect(text).toContain('"finish_reason":"stop"');
  });

  it.each(["ranker", "sg-ranker"])("%s: /v1/rerank answers the contract's shape, best first, top_n honoured", async (workload) => {
    // Act
    const response = await post(workload, "rerank", {
      model: workload,
      query: "red apple",
      documents: ["a green pear", "red apple pie", "an apple", "nothing"],
      top_n: 3,
    });
    const body = (await response.json()) as { id: string; model: string; results: { index: number; relevance_score: number; document?: { text: string } }[]; usage: { total_tokens: number } };

    // Assess
    expect(response.status).toBe(200);
    expect(Object.keys(body).sort()).toEqual(["id", "model", "results", "usage"]);
    expect(body.results).toEqual([
      { index: 1, relevance_score: 1, document: { text: "red apple pie" } },
      { index: 2, relevance_score: 0.5, document: { text: "an apple" } },
      { index: 0, relevance_score: 0, document: { text: "a green pear" } },
    ]);
    expect(typeof body.id).toBe("string");
    if (workload === "ranker") expect(body.usage.total_tokens).toBeGreaterThan(0);
  });

  it("rerank is metered on its total_tokens", async () => {
    // Prepare
    const from = new Date(Date.now() - 60_000);
    await served.gateway.flushUsage();
    const before = await readUsage(platform.ctx, "acme", "ranker", { from, to: new Date(Date.now() + 60_000) });

    // Act
    await post("ranker", "rerank", { query: "a b", documents: ["a", "b c"] });
    await served.gateway.flushUsage();
    const after = await readUsage(platform.ctx, "acme", "ranker", { from, to: new Date(Date.now() + 60_000) });

    // Assess: (2 query words + 1) + (2 query words + 2), as the replica counts.
    expect(after.totals.requests - before.totals.requests).toBe(1);
    expect(after.totals.prompt_tokens - before.totals.prompt_tokens).toBe(7);
  });

  it.each([
    ["not JSON", "query=red"],
    ["no documents", JSON.stringify({ query: "red" })],
    ["an empty query", JSON.stringify({ query: "", documents: ["a"] })],
    ["a document that is no text", JSON.stringify({ query: "q", documents: [1] })],
    ["a top_n of 0", JSON.stringify({ query: "q", documents: ["a"], top_n: 0 })],
  ])("a rerank body with %s is a 400 that never counts as demand", async (_what, body) => {
    // Prepare
    const incarnation = await platform.incarnation("acme", "ranker");
    const rate = served.gateway.gatewayRequestRate(incarnation);

    // Act
    const response = await fetch(`${served.url}/endpoint/acme/ranker/v1/rerank`, {
      method: "POST",
      headers: { ...bearer(keys.get("ranker") ?? ""), "content-type": "application/json" },
      body,
    });

    // Assess
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe("invalid_request_body");
    expect(served.gateway.gatewayRequestRate(incarnation)).toBe(rate);
  });

  it("another route on a reranker is route_not_served pointing to /v1/jobs, naming rerank and models as its synchronous routes", async () => {
    const response = await post("ranker", "chat/completions", { messages: [{ role: "user", content: "hi" }] });
    const body = (await response.json()) as { error: { code: string; message: string; routes: string[] } };
    expect(response.status).toBe(404);
    expect(body.error.code).toBe("route_not_served");
    expect(body.error.routes).toEqual(["jobs", "rerank", "models"]);
    expect(body.error.message).toContain("/v1/jobs");
    expect(body.error.message).toContain("Only /v1/rerank and /v1/models answer synchronously.");
  });

  it("rerank on a workload that is not a reranker is route_not_served", async () => {
    const response = await post("chat", "rerank", { query: "q", documents: ["d"] });
    expect(response.status).toBe(404);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe("route_not_served");
  });
});

function source(chunks: Uint8Array[]): ChunkSource {
  let i = 0;
  return { next: async () => chunks[i++], cancel: () => undefined };
}

async function drain(from: ChunkSource): Promise<string> {
  let out = "";
  const decoder = new TextDecoder();
  for (let chunk = await from.next(); chunk !== undefined; chunk = await from.next()) out += decoder.decode(chunk, { stream: true });
  return out + decoder.decode();
}

describe("withoutUsageOnlyChunks", () => {
  const content = (text: string) => `data: ${JSON.stringify({ id: "c", choices: [{ index: 0, delta: { content: text }, finish_reason: null }] })}\n\n`;
  const usageOnly = `data: ${JSON.stringify({ id: "c", choices: [], usage: { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 } })}\n\n`;

  it("drops exactly the usage-only events, however the stream is cut into chunks", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.string({ maxLength: 12 }), { maxLength: 6 }), fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 30 }), async (texts, cuts) => {
        // Prepare: content events (some with "usage" in their text), the usage chunk, [DONE].
        const kept = `${texts.map((t) => content(`${t} "usage" "choices":[]`)).join("")}data: [DONE]\n\n`;
        const whole = new TextEncoder().encode(`${texts.map((t) => content(`${t} "usage" "choices":[]`)).join("")}${usageOnly}data: [DONE]\n\n`);
        const chunks: Uint8Array[] = [];
        for (let at = 0, i = 0; at < whole.byteLength; i++) {
          const size = cuts[i % cuts.length] ?? 1;
          chunks.push(whole.subarray(at, at + size));
          at += size;
        }

        // Act
        const out = await drain(withoutUsageOnlyChunks(source(chunks)));

        // Assess
        expect(out).toBe(kept);
      }),
      { numRuns: 100 },
    );
  });

  it("keeps a chunk that carries both choices and usage (vLLM's continuous usage stats)", async () => {
    const both = `data: ${JSON.stringify({ id: "c", choices: [{ index: 0, delta: { content: "x" } }], usage: { prompt_tokens: 1 } })}\n\n`;
    expect(await drain(withoutUsageOnlyChunks(source([new TextEncoder().encode(both)])))).toBe(both);
  });
});

describe("rewriteRequestBody", () => {
  const record = { slug: "chat", spec: { model: "org/chat-model" } } as unknown as WorkloadRecord;
  const encode = (value: unknown, indent: number) => new TextEncoder().encode(JSON.stringify(value, null, indent));
  const decode = (bytes: Uint8Array) => JSON.parse(new TextDecoder().decode(bytes)) as Record<string, unknown>;

  /** What the body must mean after the rewrite: the same object with model and stream_options as the gateway sets them. */
  function expected(body: Record<string, unknown>): Record<string, unknown> {
    const out = { ...body };
    if (out.model === undefined || out.model === null || out.model === "chat") out.model = "org/chat-model";
    const options = out.stream_options;
    const given = options !== null && typeof options === "object" && !Array.isArray(options) ? (options as Record<string, unknown>) : {};
    if (out.stream === true && given.include_usage !== true) out.stream_options = { ...given, include_usage: true };
    return out;
  }

  it("means what JSON.parse of the body means, with only model and stream_options set, for any object and spacing", () => {
    const member = fc.oneof(
      fc.constantFrom("model", "stream", "stream_options", "messages", "max_tokens", "weird \"key\" \\"),
      fc.string({ maxLength: 8 }),
    );
    const value = fc.oneof(
      fc.jsonValue({ maxDepth: 3 }),
      fc.constantFrom("chat", "org/chat-model", "other", true, null),
      fc.record({ include_usage: fc.boolean(), continuous_usage_stats: fc.boolean() }, { requiredKeys: [] }),
    );
    fc.assert(
      fc.property(fc.dictionary(member, value, { maxKeys: 6 }), fc.constantFrom(0, 2), (body, indent) => {
        // Prepare: a body as a client would send it (a __proto__ key is a plain member in JSON).
        const source = JSON.parse(JSON.stringify(body)) as Record<string, unknown>;

        // Act
        const out = rewriteRequestBody(encode(source, indent), "chat/completions", record);

        // Assess
        expect(decode(out.bytes)).toEqual(expected(source));
        expect(out.dropUsageChunk).toBe(source.stream === true && (source.stream_options as { include_usage?: unknown } | null)?.include_usage !== true);
      }),
      { numRuns: 300 },
    );
  });

  it("passes bodies that are no JSON object unchanged, and never throws anything but a 400", () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.jsonValue().map((v) => JSON.stringify(v)), fc.string().map((t) => `{"model":"chat",${t}`)), (text) => {
        const bytes = new TextEncoder().encode(text);
        try {
          const out = rewriteRequestBody(bytes, "chat/completions", record);
          let parsed: unknown;
          try {
            parsed = JSON.parse(text);
          } catch {
            parsed = undefined;
          }
          if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) expect(out.bytes).toBe(bytes);
        } catch (error) {
          expect(error).toBeInstanceOf(GatewayError);
          expect((error as GatewayError).status).toBe(400);
        }
      }),
      { numRuns: 500 },
    );
  });

  it("leaves the bytes as they are when nothing changes, and refuses nesting past 64 levels", () => {
    const same = new TextEncoder().encode('{ "model" : "org/chat-model", "messages": [] }');
    expect(rewriteRequestBody(same, "chat/completions", record).bytes).toBe(same);
    const deep = new TextEncoder().encode(`{"model":"chat","x":${"[".repeat(70)}${"]".repeat(70)}}`);
    expect(() => rewriteRequestBody(deep, "chat/completions", record)).toThrow(GatewayError);
  });
});

describe("normaliseRerank", () => {
  it("sorts, cuts to top_n and fills documents from the request", () => {
    const answer = normaliseRerank([{ index: 0, score: 0.1 }, { index: 1, score: 0.9 }], { documents: ["a", "b"], top_n: 1 }, { id: "x", model: "m" });
    expect(answer).toEqual({ id: "x", model: "m", results: [{ index: 1, relevance_score: 0.9, document: { text: "b" } }], usage: { total_tokens: 0 } });
  });

  it("refuses what is neither vLLM's nor sglang's answer", () => {
    expect(normaliseRerank({ data: [] }, undefined, { id: "x", model: "m" })).toBeUndefined();
    expect(normaliseRerank([{ index: "0", score: 1 }], undefined, { id: "x", model: "m" })).toBeUndefined();
  });
});
