/**
 * Gateway benchmark (`npm run bench:gateway`): the same requests straight to a test replica and
 * through the gateway, on loopback, at fixed rates and at saturation. Reports the latency the
 * gateway adds (p50/p99), time to first byte and the throughput ratio, prints a markdown table and
 * writes it to the `## Gateway` section of docs/benchmarks.md.
 *
 * Three processes: the test replica, the gateway (served by the local runtime, as under
 * `npm start`) and this load generator, so the gateway never shares an event loop with the load.
 * Every loop is bounded in count and time.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { Agent, createServer as createHttpServer, request as httpRequest } from "node:http";
import { cpus, loadavg } from "node:os";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { serve } from "../../packages/local/src/node-http";
import {
  createGateway,
  type GatewayRequest,
  type UpstreamTransport,
  undiciTransport,
  webStreamOf,
} from "../../packages/core/src/gateway";
import { createKey } from "../../packages/core/src/keys";
import type { PlatformContext } from "../../packages/core/src/platform/context";
import { createReplica, type ReplicaRecord, replicaId, replicaSecret } from "../../packages/core/src/replicas";
import { MemoryStore } from "../../packages/core/src/store";
import { ensureWorkload } from "../../packages/core/src/workloads";
import { freePort } from "../support/ports";

const ROOT = resolve(import.meta.dirname, "../..");
const SERVER_SECRET = "bench-server-secret";
const REPLICA_ID = replicaId("bench", "chat", 0, 1, "inc_bench");
const RATES = [100, 500];
/** Each measurement alternates direct and gateway in 1 s slices, so background load hits both alike. */
const ROUNDS = 5;
const SLICE_SECONDS = 1;
const WARMUP_SECONDS = 3;
const SATURATION_CONCURRENCY = 32;
/** Open-loop sends stop piling up past this many requests in flight. */
const MAX_IN_FLIGHT = 2000;

/** The one replica of workload bench/chat, ready at `port`. */
function benchReplica(port: number): ReplicaRecord {
  const now = new Date().toISOString();
  return {
    id: REPLICA_ID,
    project: "bench",
    workload: "chat",
    slot: 0,
    generation: 1,
    worker_id: "wrk_bench",
    host: "127.0.0.1",
    port,
    desired: "running",
    phase: "ready",
    restarts: 0,
    backend: "vllm",
    task_type: "text2text",
    model: "bench-model",
    command: "openai-replica",
    gpu_indexes: [],
    hourly_price_usd: 0,
    created_at: now,
    updated_at: now,
  };
}

/** Child mode: the gateway in its own process, over an in-memory store pointing at the replica. */
async function runGateway(replicaPort: number): Promise<void> {
  const ctx: PlatformContext = { store: new MemoryStore(), serverSecret: SERVER_SECRET, now: () => new Date() };
  const admin = { tokenId: "tok_bench", admin: true };
  await ensureWorkload(ctx, admin, "bench", { name: "bench", slug: "chat", model: "bench-model", backend: "vllm" });
  const { secret } = await createKey(ctx, admin, "bench", "chat", { name: "bench" });
  await createReplica(ctx, benchReplica(replicaPort));
  const gateway = createGateway(ctx, { usageFlushMs: 10_000 });
  const http = await serve((request) => gateway.handle(request), {
    port: 0,
    direct: { prefix: "/endpoint/", serve: gateway.serve },
  });
  // The same gateway through its web binding (Request -> Response), the one the Lambda entry uses.
  const web = await serve((request) => gateway.handle(request), { port: 0 });

  // Reference points for the saturation table, in this same process and on the same transport.
  const authorization = `Bearer ${replicaSecret(SERVER_SECRET, REPLICA_ID)}`;
  // 1. A minimal Request -> Response proxy behind the same local runtime and upstream transport: no auth,
  // routing, limits or usage.
  const transport = undiciTransport();
  const toReplica = (body: Uint8Array | undefined, signal: AbortSignal) =>
    transport.send({
      host: "127.0.0.1",
      port: replicaPort,
      path: "/v1/chat/completions",
      method: "POST",
      headers: { authorization, "content-type": "application/json" },
      body,
      signal,
      connectTimeoutMs: 5000,
    });
  const minimal = await serve(
    async (request) => {
      const upstream = await toReplica(new Uint8Array(await request.arrayBuffer()), request.signal);
      return new Response(upstream.body === null ? null : webStreamOf(upstream.body), { status: upstream.status, headers: { "content-type": String(upstream.headers["content-type"]) } });
    },
    { port: 0 },
  );
  // 2. The same minimal proxy on the local runtime's direct binding (what the gateway itself is served on).
  const minimalDirect = await serve(() => Promise.resolve(new Response(null, { status: 404 })), {
    port: 0,
    direct: {
      prefix: "/",
      serve: async (request) => {
        const upstream = await toReplica(request.body instanceof Uint8Array ? request.body : undefined, request.signal);
        return { status: upstream.status, headers: { "content-type": String(upstream.headers["content-type"]) }, body: upstream.body };
      },
    },
  });
  // 3. A raw node:http reverse proxy: pipes both ways, nothing else.
  const agent = new Agent({ keepAlive: true, maxSockets: 256 });
  const raw = createHttpServer((req, res) => {
    const upstream = httpRequest(
      { host: "127.0.0.1", port: replicaPort, path: "/v1/chat/completions", method: "POST", agent, headers: { authorization, "content-type": "application/json", ...(req.headers["content-length"] === undefined ? {} : { "content-length": req.headers["content-length"] }) } },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, { "content-type": answer.headers["content-type"] ?? "application/json" });
        answer.pipe(res);
      },
    );
    upstream.on("error", () => res.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((done) => raw.listen(0, "127.0.0.1", () => done()));
  const rawAddress = raw.address();
  const rawUrl = `http://127.0.0.1:${typeof rawAddress === "object" && rawAddress !== null ? rawAddress.port : 0}`;
  console.log(JSON.stringify({ url: http.url, webUrl: web.url, key: secret, minimalUrl: minimal.url, minimalDirectUrl: minimalDirect.url, rawUrl }));
  process.on("SIGTERM", () => {
    void http.close().then(() => gateway.close().then(() => process.exit(0)));
  });
}

type TargetName = "direct" | "gateway" | "gatewayWeb" | "minimalWeb" | "minimalDirect" | "raw";
const PROXIES = ["gateway", "gatewayWeb", "minimalWeb", "minimalDirect", "raw"] as const;

/**
 * The gateway's own work per request, without any network: `gateway.serve` over an in-memory store and
 * a transport that answers from memory, back to back in this process. Microseconds per request.
 */
async function ownWorkPerRequest(requests: number): Promise<number> {
  const ctx: PlatformContext = { store: new MemoryStore(), serverSecret: SERVER_SECRET, now: () => new Date() };
  const admin = { tokenId: "tok_bench", admin: true };
  await ensureWorkload(ctx, admin, "bench", { name: "bench", slug: "chat", model: "bench-model", backend: "vllm" });
  const { secret } = await createKey(ctx, admin, "bench", "chat", { name: "bench" });
  await createReplica(ctx, benchReplica(1));
  const answer = Buffer.from(
    JSON.stringify({
      id: "chatcmpl-bench",
      object: "chat.completion",
      created: 1,
      model: "bench-model",
      choices: [{ index: 0, message: { role: "assistant", content: "one two three four" }, finish_reason: "stop" }],
      usage: { prompt_tokens: 5, completion_tokens: 16, total_tokens: 21 },
    }),
  );
  const transport: UpstreamTransport = {
    send: async () => {
      let sent = false;
      return {
        status: 200,
        headers: { "content-type": "application/json", "content-length": String(answer.byteLength), connection: "keep-alive" },
        body: {
          next: async () => {
            if (sent) return undefined;
            sent = true;
            return answer;
          },
          cancel: () => undefined,
        },
      };
    },
  };
  const gateway = createGateway(ctx, { transport, usageFlushMs: 0 });
  const body = Buffer.from(JSON.stringify({ model: "bench-model", messages: [{ role: "user", content: "hello" }], max_tokens: 16 }));
  const headers: Record<string, string> = {
    authorization: `Bearer ${secret}`,
    "content-type": "application/json",
    "content-length": String(body.byteLength),
  };
  const request = (): GatewayRequest => ({
    method: "POST",
    url: "http://127.0.0.1/endpoint/bench/chat/v1/chat/completions",
    header: (name) => headers[name] ?? null,
    body,
    signal: new AbortController().signal,
  });
  for (let i = 0; i < requests / 10; i++) await gateway.serve(request());
  const started = performance.now();
  for (let i = 0; i < requests; i++) {
    const reply = await gateway.serve(request());
    if (reply.status !== 200) throw new Error(`gateway.serve answered ${reply.status}`);
  }
  const perRequest = ((performance.now() - started) * 1000) / requests;
  await gateway.close();
  return perRequest;
}

interface Target {
  name: TargetName;
  host: string;
  port: number;
  path: string;
  authorization: string;
  agent: Agent;
}

interface Sample {
  ttfb: number;
  total: number;
  ok: boolean;
}

function send(target: Target, body: Buffer): Promise<Sample> {
  const started = performance.now();
  return new Promise((done) => {
    let ttfb = 0;
    const req = httpRequest(
      {
        host: target.host,
        port: target.port,
        path: target.path,
        method: "POST",
        agent: target.agent,
        headers: { authorization: target.authorization, "content-type": "application/json", "content-length": body.byteLength },
      },
      (res) => {
        res.on("data", () => {
          if (ttfb === 0) ttfb = performance.now() - started;
        });
        res.on("end", () => done({ ttfb, total: performance.now() - started, ok: res.statusCode === 200 }));
        res.on("error", () => done({ ttfb, total: performance.now() - started, ok: false }));
      },
    );
    req.on("error", () => done({ ttfb: 0, total: performance.now() - started, ok: false }));
    req.end(body);
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Open loop: request i leaves at start + i / rate whatever the previous ones are doing. */
async function fixedRate(target: Target, body: Buffer, rate: number, seconds: number): Promise<{ samples: Sample[]; shed: number }> {
  const total = rate * seconds;
  const samples: Sample[] = [];
  const pending: Promise<void>[] = [];
  let inFlight = 0;
  let shed = 0;
  const start = performance.now();
  for (let i = 0; i < total; i++) {
    const wait = start + (i * 1000) / rate - performance.now();
    if (wait > 1) await sleep(wait);
    if (inFlight >= MAX_IN_FLIGHT) {
      shed++;
      continue;
    }
    inFlight++;
    pending.push(
      send(target, body).then((s) => {
        inFlight--;
        samples.push(s);
      }),
    );
  }
  await Promise.all(pending);
  return { samples, shed };
}

/** Closed loop: `concurrency` workers send back to back for `seconds`. */
async function saturate(target: Target, body: Buffer, concurrency: number, seconds: number): Promise<{ rps: number; errors: number }> {
  const deadline = performance.now() + seconds * 1000;
  let done = 0;
  let errors = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < deadline) {
        const s = await send(target, body);
        if (s.ok) done++;
        else errors++;
      }
    }),
  );
  return { rps: done / ((performance.now() - started) / 1000), errors };
}

/** CPU time (user + system, ms) a child has used so far, from /proc; undefined where there is no /proc. */
function cpuMs(pid: number | undefined): number | undefined {
  if (pid === undefined || !existsSync(`/proc/${pid}/stat`)) return undefined;
  // Fields after the command name: utime and stime are the 12th and 13th, in clock ticks (100 per second on Linux).
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

function quantile(values: number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
}

function waitForLine(child: ChildProcess, match: (line: string) => boolean, what: string): Promise<string> {
  return new Promise((done, fail) => {
    const timer = setTimeout(() => fail(new Error(`${what} did not start within 20 s`)), 20_000);
    const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
    lines.on("line", (line) => {
      if (match(line)) {
        clearTimeout(timer);
        done(line);
      }
    });
    child.once("exit", (code) => fail(new Error(`${what} exited with code ${code}`)));
  });
}

interface Row {
  mode: string;
  load: string;
  direct: { p50: number; p99: number; ttfb50: number; ttfb99: number; n: number; errors: number };
  gateway: { p50: number; p99: number; ttfb50: number; ttfb99: number; n: number; errors: number };
}

const fmt = (ms: number) => (Number.isFinite(ms) ? ms.toFixed(2) : "n/a");
const fmtUs = (us: number) => (Number.isFinite(us) ? us.toFixed(0) : "n/a");

async function main(): Promise<void> {
  const children: ChildProcess[] = [];
  const stop = () => {
    for (const child of children) if (child.exitCode === null) child.kill("SIGTERM");
  };
  process.once("exit", stop);
  try {
    const replicaPort = await freePort();
    const replica = spawn(
      process.execPath,
      [
        join(ROOT, "test/replicas/openai-replica.mjs"),
        "serve",
        "bench-model",
        "--host",
        "127.0.0.1",
        "--port",
        String(replicaPort),
        "--api-key",
        replicaSecret(SERVER_SECRET, REPLICA_ID),
        "--chunk-delay-ms",
        "0",
      ],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    children.push(replica);
    await waitForLine(replica, (l) => l.includes("serving"), "test replica");
    const gatewayChild = spawn(process.execPath, [...process.execArgv, import.meta.filename, "--gateway", String(replicaPort)], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    children.push(gatewayChild);
    let gatewayStderr = "";
    gatewayChild.stderr?.on("data", (chunk: Buffer) => {
      gatewayStderr += chunk.toString();
    });
    const ready = JSON.parse(await waitForLine(gatewayChild, (l) => l.startsWith("{"), "gateway")) as {
      url: string;
      key: string;
      webUrl: string;
      minimalUrl: string;
      minimalDirectUrl: string;
      rawUrl: string;
    };
    const gatewayUrl = new URL(ready.url);

    const agentOptions = { keepAlive: true, maxSockets: 256 };
    const direct: Target = {
      name: "direct",
      host: "127.0.0.1",
      port: replicaPort,
      path: "/v1/chat/completions",
      authorization: `Bearer ${replicaSecret(SERVER_SECRET, REPLICA_ID)}`,
      agent: new Agent(agentOptions),
    };
    const viaGateway: Target = {
      name: "gateway",
      host: gatewayUrl.hostname,
      port: Number(gatewayUrl.port),
      path: "/endpoint/bench/chat/v1/chat/completions",
      authorization: `Bearer ${ready.key}`,
      agent: new Agent(agentOptions),
    };
    const viaGatewayWeb: Target = { ...viaGateway, name: "gatewayWeb", port: Number(new URL(ready.webUrl).port), agent: new Agent(agentOptions) };
    const reference = (name: TargetName, url: string): Target => ({
      name,
      host: "127.0.0.1",
      port: Number(new URL(url).port),
      path: "/v1/chat/completions",
      authorization: "none",
      agent: new Agent(agentOptions),
    });
    const saturationTargets = [
      direct,
      viaGateway,
      viaGatewayWeb,
      reference("minimalWeb", ready.minimalUrl),
      reference("minimalDirect", ready.minimalDirectUrl),
      reference("raw", ready.rawUrl),
    ];
    const bodies = {
      json: Buffer.from(JSON.stringify({ model: "bench-model", messages: [{ role: "user", content: "hello gateway benchmark" }], max_tokens: 16 })),
      streaming: Buffer.from(
        JSON.stringify({
          model: "bench-model",
          stream: true,
          stream_options: { include_usage: true },
          messages: [{ role: "user", content: "one two three four five six seven eight nine ten eleven twelve" }],
          max_tokens: 16,
        }),
      ),
    };

    // Warm-up: JIT-compile the gateway's and the replica's hot paths before anything is measured.
    const loadBefore = loadavg();
    for (const body of Object.values(bodies)) {
      await saturate(viaGateway, body, SATURATION_CONCURRENCY, WARMUP_SECONDS / 2);
      await saturate(direct, body, SATURATION_CONCURRENCY, WARMUP_SECONDS / 4);
    }

    const rows: Row[] = [];
    const saturation: {
      mode: string;
      direct: number;
      gateway: number;
      rps: Record<TargetName, number>;
      errors: number;
      cpu: Record<TargetName, number>;
    }[] = [];
    for (const [mode, body] of Object.entries(bodies)) {
      for (const rate of RATES) {
        const samples: Record<"direct" | "gateway", Sample[]> = { direct: [], gateway: [] };
        for (let round = 0; round < ROUNDS; round++) {
          for (const target of [direct, viaGateway]) {
            samples[target.name === "direct" ? "direct" : "gateway"].push(...(await fixedRate(target, body, rate, SLICE_SECONDS)).samples);
          }
        }
        const stats = (all: Sample[]) => {
          const ok = all.filter((x) => x.ok);
          return {
            p50: quantile(ok.map((x) => x.total), 0.5),
            p99: quantile(ok.map((x) => x.total), 0.99),
            ttfb50: quantile(ok.map((x) => x.ttfb), 0.5),
            ttfb99: quantile(ok.map((x) => x.ttfb), 0.99),
            n: ok.length,
            errors: all.length - ok.length,
          };
        };
        const row: Row = { mode, load: `${rate} req/s`, direct: stats(samples.direct), gateway: stats(samples.gateway) };
        rows.push(row);
        console.error(
          `  ${mode} ${rate} req/s: direct p50 ${fmt(row.direct.p50)} p99 ${fmt(row.direct.p99)} ms, gateway p50 ${fmt(row.gateway.p50)} p99 ${fmt(row.gateway.p99)} ms`,
        );
      }
      const zero = (): Record<TargetName, number> => ({ direct: 0, gateway: 0, gatewayWeb: 0, minimalWeb: 0, minimalDirect: 0, raw: 0 });
      const done = zero();
      // CPU of the process serving each target (the replica for direct, else the gateway child), per request.
      const cpu = zero();
      let errors = 0;
      for (let round = 0; round < ROUNDS; round++) {
        for (const target of saturationTargets) {
          const server = target.name === "direct" ? replica.pid : gatewayChild.pid;
          const before = cpuMs(server);
          const result = await saturate(target, body, SATURATION_CONCURRENCY, SLICE_SECONDS);
          const after = cpuMs(server);
          cpu[target.name] += before === undefined || after === undefined ? Number.NaN : after - before;
          done[target.name] += result.rps * SLICE_SECONDS;
          errors += result.errors;
        }
      }
      const seconds = ROUNDS * SLICE_SECONDS;
      const rps = zero();
      const usPerRequest = zero();
      for (const name of Object.keys(done) as TargetName[]) {
        rps[name] = done[name] / seconds;
        usPerRequest[name] = (cpu[name] * 1000) / done[name];
      }
      saturation.push({ mode, direct: rps.direct, gateway: rps.gateway, rps, errors, cpu: usPerRequest });
      console.error(`  ${mode} saturation: direct ${(done.direct / seconds).toFixed(0)} req/s, gateway ${(done.gateway / seconds).toFixed(0)} req/s`);
    }
    const loadAfter = loadavg();
    const ownWorkUs = await ownWorkPerRequest(100_000);

    const at500 = rows.filter((r) => r.load === "500 req/s");
    const worstAddedP50 = Math.max(...at500.map((r) => r.gateway.p50 - r.direct.p50));
    const worstAddedP99 = Math.max(...at500.map((r) => r.gateway.p99 - r.direct.p99));
    const worstRatio = Math.min(...saturation.map((s) => s.gateway / s.direct));
    const verdict = (ok: boolean) => (ok ? "met" : "MISSED");

    const lines = [
      "## Gateway",
      "",
      `Measured ${new Date().toISOString().slice(0, 10)} on this machine (${cpus().length} cores, ${cpus()[0]?.model ?? "unknown CPU"}, Node ${process.versions.node}), loopback only;`,
      `load average ${loadBefore.map((l) => l.toFixed(2)).join(" ")} before and ${loadAfter.map((l) => l.toFixed(2)).join(" ")} after (other work shared the machine).`,
      "Three processes: the bundled test replica (`test/replicas/openai-replica.mjs`, chunk delay 0), the gateway",
      "served by the local runtime (`serve()` from `packages/local/src/node-http.ts`, in-memory store) and the load",
      "generator (node:http keep-alive client). \"direct\" sends the same request straight to the replica.",
      `After a ${WARMUP_SECONDS} s warm-up, every measurement alternates direct and gateway in ${SLICE_SECONDS} s slices, ${ROUNDS} rounds each,`,
      "so background load hits both alike. Fixed rates are open loop; saturation is",
      `${SATURATION_CONCURRENCY} concurrent clients back to back. Chat completions with max_tokens 16; streaming adds include_usage (17-18 SSE chunks).`,
      "",
      "Command: `npm run bench:gateway` (`sh scripts/node22.sh --import tsx test/bench/gateway-bench.ts`)",
      "",
      "| mode | load | direct p50 / p99 (ms) | gateway p50 / p99 (ms) | added p50 / p99 (ms) | TTFB direct p50 / p99 | TTFB gateway p50 / p99 | errors |",
      "|---|---|---|---|---|---|---|---|",
      ...rows.map(
        (r) =>
          `| ${r.mode} | ${r.load} | ${fmt(r.direct.p50)} / ${fmt(r.direct.p99)} | ${fmt(r.gateway.p50)} / ${fmt(r.gateway.p99)} | ` +
          `${fmt(r.gateway.p50 - r.direct.p50)} / ${fmt(r.gateway.p99 - r.direct.p99)} | ${fmt(r.direct.ttfb50)} / ${fmt(r.direct.ttfb99)} | ` +
          `${fmt(r.gateway.ttfb50)} / ${fmt(r.gateway.ttfb99)} | ${r.direct.errors + r.gateway.errors} |`,
      ),
      "",
      "Saturation (req/s, and the share of direct). \"gateway\" is the gateway as `npm start` serves it (node:http",
      "bound straight to `gateway.serve`); \"gateway, web binding\" is the same gateway behind web Request/Response",
      "(`gateway.handle`, the binding the Lambda entry uses). For reference, the same process also serves a minimal",
      "proxy (no auth, routing, limits or usage; same upstream transport) on each binding, and a raw node:http",
      "reverse proxy (pipes, nothing else): about the most any proxy gets here.",
      "",
      "| mode | direct | gateway | gateway, web binding | minimal proxy, web binding | minimal proxy, direct binding | raw node:http proxy | errors |",
      "|---|---|---|---|---|---|---|---|",
      ...saturation.map((s) => {
        const share = (name: TargetName) => `${s.rps[name].toFixed(0)} (${((s.rps[name] / s.direct) * 100).toFixed(0)}%)`;
        return `| ${s.mode} | ${s.direct.toFixed(0)} | ${PROXIES.map(share).join(" | ")} | ${s.errors} |`;
      }),
      "",
      "CPU per request of the serving process during those slices (user + system, microseconds; for direct",
      "the replica itself, for the proxies the gateway process, excluding the replica and the load generator):",
      "",
      "| mode | replica (direct) | gateway | gateway, web binding | minimal proxy, web binding | minimal proxy, direct binding | raw node:http proxy |",
      "|---|---|---|---|---|---|---|",
      ...saturation.map((s) => `| ${s.mode} | ${fmtUs(s.cpu.direct)} | ${PROXIES.map((name) => fmtUs(s.cpu[name])).join(" | ")} |`),
      "",
      "Goals at 500 req/s (worst of the two modes):",
      "",
      `- added p50 < 1 ms: ${fmt(worstAddedP50)} ms, ${verdict(worstAddedP50 < 1)}`,
      `- added p99 < 5 ms: ${fmt(worstAddedP99)} ms, ${verdict(worstAddedP99 < 5)}`,
      `- gateway throughput >= 40% of direct: ${(worstRatio * 100).toFixed(0)}%, ${verdict(worstRatio >= 0.4)}`,
      "",
      "On 2 cores the three processes compete for CPU, so saturation measures the whole machine, and p99",
      "moves by a millisecond or two between runs; the machine is a shared VM, so shares move by a few points",
      "from run to run. The direct JSON path is very cheap (the test replica answers from memory), so any proxy",
      "hop is a large share of it: a proxy's share is set by its CPU per request next to the replica's and the",
      "load generator's (which also grow per request when throughput falls: fewer requests per wake-up). The web",
      "binding costs a Request with its abort signal, Headers, body streams and a Response per request; the",
      "direct binding skips them. The gateway's own work (key check, route table, limits, timeouts, usage) costs",
      `${ownWorkUs.toFixed(1)} us per request on top, measured apart: \`gateway.serve\` with an in-memory transport, no network,`,
      "back to back in one process. Streaming answers spend their time in the replica, and there the gateway",
      "keeps pace with direct.",
      "",
    ];
    const table = lines.join("\n");
    console.log(table);
    writeSection(join(ROOT, "docs/benchmarks.md"), table);
    if (gatewayStderr.trim() !== "") console.error(`gateway stderr:\n${gatewayStderr.slice(0, 2000)}`);
    for (const target of saturationTargets) target.agent.destroy();
  } finally {
    stop();
  }
}

/** Replaces (or appends) the `## Gateway` section of docs/benchmarks.md, keeping every other section. */
function writeSection(path: string, section: string): void {
  const current = existsSync(path) ? readFileSync(path, "utf8") : "# Benchmarks\n\nResults of the benchmark scripts, one section each.\n";
  const start = current.indexOf("\n## Gateway\n");
  let next: string;
  if (start === -1) {
    next = `${current.trimEnd()}\n\n${section}`;
  } else {
    const after = current.indexOf("\n## ", start + 1);
    next = `${current.slice(0, start + 1)}${section}${after === -1 ? "" : `\n${current.slice(after + 1)}`}`;
  }
  writeFileSync(path, `${next.trimEnd()}\n`);
}

if (process.argv[2] === "--gateway") {
  await runGateway(Number(process.argv[3]));
} else {
  await main();
  process.exit(0);
}
