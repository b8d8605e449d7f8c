#!/usr/bin/env node
// TEST DOUBLE. A small OpenAI-compatible server standing in for vllm / sglang / vllm-omni in tests,
// since model weights cannot be downloaded here. It is strict like the real thing: it refuses requests
// without the replica secret (--api-key), serves vLLM's real Prometheus metric names on /metrics, and
// records the argv and environment it was started with (REPLICA_RECORD_DIR) so tests can assert what
// the agent passed. Plain JavaScript on node:http so any Node can run it as a workload `command`.
//
// Flags (vLLM-style): --host H --port P --api-key K --served-model-name M (or the first positional
// argument after `serve`). Test knobs: --startup-delay-ms N (listen late, like loading weights),
// --ready-after-ms N (/health answers 503 until then), --chunk-delay-ms N (between stream chunks),
// --exit-after-ms N --exit-code C (crash on purpose), --no-api-key (serve without a secret, as ollama),
// --log-every-ms N (a line on stdout and stderr every N ms, as a busy backend logs; like most backends
// it dies of EPIPE when nobody reads its output any more).
// --require-env NAME refuses to start (exit 3) unless the environment variable NAME is set and not
// empty, as a backend serving a gated model needs HF_TOKEN; --print-env NAME writes `NAME=<value>`
// on stdout and stderr at start, so tests can check that the platform redacts it from what it shows.
// Classification and reward in vLLM's shapes: POST /classify, /pooling. --sglang switches to sglang's:
// /v1/classify classifies, and the native /classify scores reward models ({"text": [...]} ->
// [{"embedding": [reward]}]). Scores are deterministic (sentiment words) so tests can assert order.
// ollama mode: --ollama adds GET /api/tags and POST /api/pull (NDJSON progress, like ollama's); with
// --ollama-pull-ms N the model starts not pulled and a pull takes about N ms.
// Like vLLM it serves one model name (--served-model-name, else the model argument): a request naming
// another `model` gets vLLM's 404; a request without `model` gets the served one. Rerank: vLLM's
// POST /rerank, /v1/rerank and /v2/rerank in vLLM's exact shape; with --sglang, only sglang's
// POST /v1/rerank answering a bare array of {index, score, document}. Scores are deterministic: the
// share of the query's words found in the document.
import { createServer } from "node:http";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const argv = process.argv.slice(2);
const flags = {};
const positional = [];
for (let i = 0; i < argv.length; i++) {
  const arg = argv[i];
  if (arg.startsWith("--")) {
    const [name, inline] = arg.slice(2).split("=", 2);
    if (inline !== undefined) flags[name] = inline;
    else if (argv[i + 1] !== undefined && !argv[i + 1].startsWith("--")) flags[name] = argv[++i];
    else flags[name] = true;
  } else positional.push(arg);
}

const host = flags.host ?? process.env.HOST ?? "127.0.0.1";
const port = Number(flags.port ?? process.env.PORT ?? 8000);
const apiKey = flags["api-key"] ?? process.env.VLLM_API_KEY;
const model = flags["served-model-name"] ?? flags.model ?? (positional[0] === "serve" ? positional[1] : positional[0]) ?? "test-model";
const num = (name, fallback) => (flags[name] === undefined ? fallback : Number(flags[name]));

const required = flags["require-env"];
if (typeof required === "string" && !process.env[required]) {
  console.error(`openai-replica: the environment variable ${required} is not set (--require-env ${required})`);
  process.exit(3);
}
const printed = flags["print-env"];
if (typeof printed === "string") {
  console.log(`${printed}=${process.env[printed] ?? ""}`);
  console.error(`${printed}=${process.env[printed] ?? ""}`);
}

if (!apiKey && !flags["no-api-key"]) {
  console.error("openai-replica: --api-key is required (the platform must pass the replica secret)");
  process.exit(2);
}

if (process.env.REPLICA_RECORD_DIR) {
  mkdirSync(process.env.REPLICA_RECORD_DIR, { recursive: true });
  writeFileSync(
    join(process.env.REPLICA_RECORD_DIR, `${process.pid}.json`),
    JSON.stringify({ pid: process.pid, argv: process.argv.slice(2), env: process.env, host, port, model }, null, 2),
  );
}

const startedAt = Date.now();
// bodies: POST bodies received to their end (complete) or cut off by the sender (incomplete), so a
// test can tell that an over-limit upload never reached a replica whole.
const stats = { requests: 0, running: 0, completed: 0, cancelled: 0, byRoute: {}, bodies: { complete: 0, incomplete: 0, incompleteBytes: 0 } };
// A 1x1 PNG: what an image model would return, base64-encoded, like vllm-omni (b64_json only).
const PNG_1X1 = Buffer.from(
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==",
  "base64",
);

function send(res, status, body, headers = {}) {
  const payload = typeof body === "string" || Buffer.isBuffer(body) ? body : JSON.stringify(body);
  res.writeHead(status, { "content-type": typeof body === "object" && !Buffer.isBuffer(body) ? "application/json" : "text/plain", ...headers });
  res.end(payload);
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

function tokens(text) {
  return String(text ?? "").split(/\s+/).filter(Boolean).length;
}

function promptOf(body) {
  if (Array.isArray(body.messages)) {
    return body.messages.map((m) => (typeof m.content === "string" ? m.content : JSON.stringify(m.content))).join(" ");
  }
  return Array.isArray(body.prompt) ? body.prompt.join(" ") : String(body.prompt ?? "");
}

/** A deterministic reply: echoes the prompt so tests can check what reached the replica. */
function replyWords(body) {
  const words = [`echo(${model}):`, ...promptOf(body).split(/\s+/).filter(Boolean)];
  const max = body.max_tokens ?? body.max_completion_tokens ?? 64;
  return words.slice(0, Math.max(1, max));
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** vLLM's check: a request naming a model this server does not serve is answered 404 (true when answered). */
function refusedModel(res, body) {
  if (body.model === undefined || body.model === null || body.model === model) return false;
  send(res, 404, { error: { message: `The model \`${body.model}\` does not exist.`, type: "NotFoundError", param: null, code: 404 } });
  return true;
}

function words(text) {
  return String(text ?? "").toLowerCase().split(/[^a-z0-9]+/).filter(Boolean);
}

/** Share of the query's distinct words the document contains, rounded so scores compare exactly. */
function overlapScore(query, document) {
  const wanted = new Set(words(query));
  if (wanted.size === 0) return 0;
  const present = new Set(words(document));
  let found = 0;
  for (const word of wanted) if (present.has(word)) found++;
  return Math.round((found / wanted.size) * 1e6) / 1e6;
}

function rerankInput(body) {
  const documents = Array.isArray(body.documents) ? body.documents.map((d) => (typeof d === "string" ? d : String(d?.text ?? ""))) : [];
  if (typeof body.query !== "string" || documents.length === 0) return undefined;
  return { query: body.query, documents };
}

/** vLLM's rerank answer: results best first, cut to top_n, each with its document. */
function vllmRerank(_req, res, raw) {
  const body = JSON.parse(raw);
  if (refusedModel(res, body)) return;
  const input = rerankInput(body);
  if (input === undefined) return send(res, 400, { error: { message: "query and documents are required", type: "BadRequestError", param: null, code: 400 } });
  const results = input.documents
    .map((text, index) => ({ index, document: { text }, relevance_score: overlapScore(input.query, text) }))
    .sort((a, b) => b.relevance_score - a.relevance_score || a.index - b.index);
  const topN = Number.isInteger(body.top_n) && body.top_n > 0 ? body.top_n : results.length;
  const totalTokens = input.documents.reduce((n, text) => n + tokens(input.query) + tokens(text), 0);
  send(res, 200, { id: `rerank-${process.pid}-${stats.requests}`, model, usage: { total_tokens: totalTokens }, results: results.slice(0, topN) });
}

/** sglang's rerank answer: a bare array in document order, `score` for the relevance. */
function sglangRerank(_req, res, raw) {
  const body = JSON.parse(raw);
  if (refusedModel(res, body)) return;
  const input = rerankInput(body);
  if (input === undefined) return send(res, 400, { object: "error", message: "query and documents are required", type: "BadRequestError", code: 400 });
  send(
    res,
    200,
    input.documents.map((text, index) => ({ index, score: overlapScore(input.query, text), document: text, meta_info: { prompt_tokens: tokens(input.query) + tokens(text) } })),
  );
}

async function completion(_req, res, body, chat) {
  if (refusedModel(res, body)) return;
  const words = replyWords(body);
  const id = `cmpl-${process.pid}-${stats.requests}`;
  const created = Math.floor(Date.now() / 1000);
  const usage = { prompt_tokens: tokens(promptOf(body)), completion_tokens: words.length, total_tokens: tokens(promptOf(body)) + words.length };
  const object = chat ? "chat.completion" : "text_completion";
  if (!body.stream) {
    const text = words.join(" ");
    const choice = chat
      ? { index: 0, message: { role: "assistant", content: text }, finish_reason: "stop" }
      : { index: 0, text, finish_reason: "stop" };
    return send(res, 200, { id, object, created, model, choices: [choice], usage });
  }
  res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
  let closed = false;
  res.on("close", () => {
    if (!res.writableFinished) {
      closed = true;
      stats.cancelled++;
    }
  });
  const chunkDelay = num("chunk-delay-ms", 5);
  for (let i = 0; i < words.length && !closed; i++) {
    const text = (i === 0 ? "" : " ") + words[i];
    const choice = chat ? { index: 0, delta: i === 0 ? { role: "assistant", content: text } : { content: text }, finish_reason: null } : { index: 0, text, finish_reason: null };
    res.write(`data: ${JSON.stringify({ id, object: `${object}.chunk`, created, model, choices: [choice] })}\n\n`);
    await sleep(chunkDelay);
  }
  if (closed) return;
  const last = chat ? { index: 0, delta: {}, finish_reason: "stop" } : { index: 0, text: "", finish_reason: "stop" };
  res.write(`data: ${JSON.stringify({ id, object: `${object}.chunk`, created, model, choices: [last] })}\n\n`);
  if (body.stream_options?.include_usage) {
    res.write(`data: ${JSON.stringify({ id, object: `${object}.chunk`, created, model, choices: [], usage })}\n\n`);
  }
  res.end("data: [DONE]\n\n");
}

function embedding(text, dims = 8) {
  const vector = [];
  let seed = 0;
  for (const ch of String(text)) seed = (seed * 31 + ch.charCodeAt(0)) >>> 0;
  for (let i = 0; i < dims; i++) {
    seed = (seed * 1103515245 + 12345) >>> 0;
    vector.push((seed / 0xffffffff) * 2 - 1);
  }
  return vector;
}

/** Minimal multipart reader: field name -> { filename?, data } (enough for file uploads in tests). */
function parseMultipart(buffer, contentType) {
  const boundary = /boundary=(?:"([^"]+)"|([^;]+))/.exec(contentType ?? "");
  const parts = {};
  if (!boundary) return parts;
  const marker = Buffer.from(`--${boundary[1] ?? boundary[2]}`);
  let start = buffer.indexOf(marker);
  while (start !== -1) {
    const next = buffer.indexOf(marker, start + marker.length);
    if (next === -1) break;
    const part = buffer.subarray(start + marker.length + 2, next - 2);
    const split = part.indexOf("\r\n\r\n");
    const head = part.subarray(0, split).toString();
    const name = /name="([^"]+)"/.exec(head)?.[1];
    const filename = /filename="([^"]*)"/.exec(head)?.[1];
    if (name) parts[name] = { filename, data: part.subarray(split + 4) };
    start = next;
  }
  return parts;
}

const POSITIVE = new Set(["good", "great", "excellent", "love", "helpful", "correct"]);
const NEGATIVE = new Set(["bad", "terrible", "awful", "hate", "wrong", "useless"]);

/** [negative, positive] probabilities from sentiment words. */
function sentiment(text) {
  let pos = 0;
  let neg = 0;
  for (const w of words(text)) {
    if (POSITIVE.has(w)) pos++;
    if (NEGATIVE.has(w)) neg++;
  }
  const p = (1 + pos) / (2 + pos + neg);
  return [Number((1 - p).toFixed(6)), Number(p.toFixed(6))];
}

/** A reward: sentiment balance plus a little for length. */
function rewardOf(text) {
  const [neg, pos] = sentiment(text);
  return Number((pos - neg + words(text).length / 1000).toFixed(6));
}

function poolingInputs(body) {
  if (Array.isArray(body.messages)) return [body.messages.map((m) => String(m.content ?? "")).join(" ")];
  const input = body.input ?? body.text;
  return Array.isArray(input) ? input : [input];
}

const vllmPoolingRoutes = {
  "POST /classify": (_req, res, body) => classify(res, JSON.parse(body)),
  "POST /pooling": (_req, res, raw) => {
    const body = JSON.parse(raw);
    if (refusedModel(res, body)) return;
    const inputs = poolingInputs(body);
    const promptTokens = inputs.reduce((n, t) => n + tokens(t), 0);
    send(res, 200, {
      id: `pool-${process.pid}-${stats.requests}`,
      object: "list",
      created: Math.floor(Date.now() / 1000),
      model,
      data: inputs.map((text, index) => ({ index, object: "pooling", data: [rewardOf(text)] })),
      usage: { prompt_tokens: promptTokens, total_tokens: promptTokens, completion_tokens: 0 },
    });
  },
};

function classify(res, body) {
  if (refusedModel(res, body)) return;
  const inputs = poolingInputs(body);
  const promptTokens = inputs.reduce((n, t) => n + tokens(t), 0);
  send(res, 200, {
    id: `classify-${process.pid}-${stats.requests}`,
    object: "list",
    created: Math.floor(Date.now() / 1000),
    model,
    data: inputs.map((text, index) => {
      const probs = sentiment(text);
      return { index, label: probs[1] > probs[0] ? "positive" : "negative", probs, num_classes: 2 };
    }),
    usage: { prompt_tokens: promptTokens, total_tokens: promptTokens, completion_tokens: 0, prompt_tokens_details: null },
  });
}

const sglangPoolingRoutes = {
  "POST /v1/classify": (_req, res, body) => classify(res, JSON.parse(body)),
  "POST /classify": (_req, res, raw) => {
    const body = JSON.parse(raw);
    if (refusedModel(res, body)) return;
    const inputs = poolingInputs(body);
    send(res, 200, inputs.map((text) => ({ embedding: [rewardOf(text)], meta_info: { prompt_tokens: tokens(text) } })));
  },
};

// ollama mode: the model is "on disk" once pulled (at once without --ollama-pull-ms).
let ollamaPulled = flags["ollama-pull-ms"] === undefined;
const ollamaRoutes = {
  "GET /api/tags": (_req, res) =>
    send(res, 200, { models: ollamaPulled ? [{ name: `${model}:latest`, model: `${model}:latest`, size: 4_700_000_000 }] : [] }),
  "POST /api/pull": async (_req, res, body) => {
    const wanted = String(JSON.parse(body).model ?? "");
    res.writeHead(200, { "content-type": "application/x-ndjson" });
    const line = (value) => res.write(`${JSON.stringify(value)}\n`);
    line({ status: "pulling manifest" });
    if (wanted !== model && wanted !== `${model}:latest`) {
      line({ error: "pull model manifest: file does not exist" });
      return res.end();
    }
    const total = 4_700_000_000;
    const steps = 5;
    for (let step = 1; step <= steps; step++) {
      await new Promise((resolve) => setTimeout(resolve, num("ollama-pull-ms", 0) / steps));
      line({ status: "pulling 6a0746a1ec1a", digest: "sha256:6a0746a1ec1a", total, completed: Math.round((total * step) / steps) });
    }
    line({ status: "verifying sha256 digest" });
    line({ status: "writing manifest" });
    ollamaPulled = true;
    line({ status: "success" });
    res.end();
  },
};

const routes = {
  ...(flags.ollama ? ollamaRoutes : flags.sglang ? sglangPoolingRoutes : vllmPoolingRoutes),
  "GET /health": (_req, res) =>
    Date.now() - startedAt < num("ready-after-ms", 0) ? send(res, 503, { status: "loading" }) : send(res, 200, ""),
  "GET /v1/models": (_req, res) => send(res, 200, { object: "list", data: [{ id: model, object: "model", owned_by: "test-replica" }] }),
  "GET /metrics": (_req, res) =>
    send(
      res,
      200,
      [
        "# HELP vllm:num_requests_running Number of requests currently running on GPU.",
        "# TYPE vllm:num_requests_running gauge",
        `vllm:num_requests_running{model_name="${model}"} ${stats.running}`,
        "# HELP vllm:num_requests_waiting Number of requests waiting to be processed.",
        "# TYPE vllm:num_requests_waiting gauge",
        `vllm:num_requests_waiting{model_name="${model}"} ${Number(process.env.REPLICA_FAKE_WAITING ?? 0)}`,
        "# HELP vllm:kv_cache_usage_perc KV-cache usage. 1 means 100 percent usage.",
        "# TYPE vllm:kv_cache_usage_perc gauge",
        `vllm:kv_cache_usage_perc{model_name="${model}"} ${Math.min(1, stats.running / 16)}`,
        "",
      ].join("\n"),
      { "content-type": "text/plain; version=0.0.4" },
    ),
  "GET /test/stats": (_req, res) => send(res, 200, stats),
  "POST /v1/chat/completions": (req, res, body) => completion(req, res, JSON.parse(body), true),
  "POST /v1/completions": (req, res, body) => completion(req, res, JSON.parse(body), false),
  "POST /v1/embeddings": (_req, res, body) => {
    const parsed = JSON.parse(body);
    if (refusedModel(res, parsed)) return;
    const inputs = Array.isArray(parsed.input) ? parsed.input : [parsed.input];
    const promptTokens = inputs.reduce((n, t) => n + tokens(t), 0);
    send(res, 200, {
      object: "list",
      model,
      data: inputs.map((text, index) => ({ object: "embedding", index, embedding: embedding(text) })),
      usage: { prompt_tokens: promptTokens, total_tokens: promptTokens },
    });
  },
  ...(flags.sglang
    ? { "POST /v1/rerank": sglangRerank }
    : { "POST /rerank": vllmRerank, "POST /v1/rerank": vllmRerank, "POST /v2/rerank": vllmRerank }),
  "POST /v1/images/generations": (_req, res) =>
    send(res, 200, { created: Math.floor(Date.now() / 1000), data: [{ b64_json: PNG_1X1.toString("base64") }] }),
  "POST /v1/images/edits": (req, res, body) => {
    const parts = parseMultipart(body, req.headers["content-type"]);
    if (!parts.image) return send(res, 400, { error: { message: "image is required", type: "invalid_request_error" } });
    send(res, 200, { created: Math.floor(Date.now() / 1000), data: [{ b64_json: PNG_1X1.toString("base64") }] });
  },
  "POST /v1/audio/speech": (_req, res, body) => {
    const parsed = JSON.parse(body);
    // Deterministic bytes covering every byte value, so a test can tell a corrupted body.
    const audio = Buffer.alloc(4096);
    for (let i = 0; i < audio.length; i++) audio[i] = (i * 7 + String(parsed.input ?? "").length) % 256;
    send(res, 200, audio, { "content-type": "audio/mpeg" });
  },
  "POST /v1/audio/transcriptions": (req, res, body) => {
    const parts = parseMultipart(body, req.headers["content-type"]);
    if (!parts.file) return send(res, 400, { error: { message: "file is required", type: "invalid_request_error" } });
    send(res, 200, { text: `transcribed ${parts.file.data.length} bytes of ${parts.file.filename ?? "audio"}` });
  },
};

const server = createServer(async (req, res) => {
  const path = (req.url ?? "/").split("?")[0];
  const handler = routes[`${req.method} ${path}`];
  const open = path === "/health" || path === "/metrics" || path.startsWith("/api/");
  if (!open && apiKey && req.headers.authorization !== `Bearer ${apiKey}`) {
    return send(res, 401, { error: { message: "Unauthorized", type: "invalid_request_error", code: 401 } });
  }
  if (!handler) return send(res, 404, { error: { message: `no route ${req.method} ${path}`, type: "not_found", code: 404 } });
  if (path === "/api/pull") return handler(req, res, (await readBody(req)).toString("utf8"));
  if (open || path === "/test/stats") return handler(req, res, "");
  stats.requests++;
  stats.byRoute[path] = (stats.byRoute[path] ?? 0) + 1;
  if (req.method === "POST") {
    let received = 0;
    req.on("data", (chunk) => {
      received += chunk.length;
    });
    req.once("close", () => {
      if (req.complete) stats.bodies.complete++;
      else {
        stats.bodies.incomplete++;
        stats.bodies.incompleteBytes += received;
      }
    });
  }
  stats.running++;
  try {
    const body = req.method === "POST" ? await readBody(req) : Buffer.alloc(0);
    await handler(req, res, req.headers["content-type"]?.startsWith("multipart/") ? body : body.toString("utf8"));
    stats.completed++;
  } catch (error) {
    if (!res.headersSent) send(res, 400, { error: { message: String(error), type: "invalid_request_error" } });
  } finally {
    stats.running--;
  }
});

setTimeout(() => {
  server.listen(port, host, () => console.log(`openai-replica: serving ${model} on http://${host}:${port}`));
}, num("startup-delay-ms", 0));

if (flags["log-every-ms"] !== undefined) {
  let line = 0;
  setInterval(() => {
    line++;
    process.stdout.write(`openai-replica: stats line ${line}\n`);
    process.stderr.write(`openai-replica: log line ${line}\n`);
  }, num("log-every-ms", 1000));
}

if (flags["exit-after-ms"] !== undefined) {
  setTimeout(() => {
    console.error(`openai-replica: exiting on purpose with code ${num("exit-code", 1)}`);
    process.exit(num("exit-code", 1));
  }, num("exit-after-ms", 0));
}

for (const signal of ["SIGTERM", "SIGINT"]) {
  process.on(signal, () => {
    server.close();
    process.exit(0);
  });
}
