import { type ChildProcess, spawn } from "node:child_process";
import { request as httpRequest } from "node:http";
import { join, resolve } from "node:path";
import { type HttpServerHandle, serve } from "@inferencekey/local";
import { createKey, KeyInputSchema } from "../../src/keys";
import { MemoryStore, type Store } from "../../src/store";
import type { PlatformContext } from "../../src/platform/context";
import { createReplica, type ReplicaRecord, replicaId, replicaSecret, updateReplica } from "../../src/replicas";
import type { Principal } from "../../src/tokens";
import { deleteWorkload, ensureWorkload, getWorkloadRecord, workloadIncarnation } from "../../src/workloads";
import { createGateway, type Gateway, type GatewayOptions } from "../../src/gateway";
import { freePort } from "../../../../test/support/ports";

export { freePort };

export const REPO_ROOT = resolve(import.meta.dirname, "../../../..");
const REPLICA_SCRIPT = join(REPO_ROOT, "test/replicas/openai-replica.mjs");

const children = new Set<ChildProcess>();
// Belt and braces: a crashed test run never leaves replica processes behind.
process.once("exit", () => {
  for (const child of children) child.kill("SIGKILL");
});

/** A port nothing listens on right now (bound, then released). */
export interface ReplicaStats {
  requests: number;
  running: number;
  completed: number;
  cancelled: number;
  byRoute: Record<string, number>;
  /** POST bodies the replica received to their end, and those cut off (with the bytes that did arrive). */
  bodies: { complete: number; incomplete: number; incompleteBytes: number };
}

export interface ReplicaProcess {
  id: string;
  port: number;
  secret: string;
  stats(): Promise<ReplicaStats>;
  stop(): Promise<void>;
}

/** Starts the OpenAI test double as a child process with the secret the gateway derives for `id`. */
export async function startReplica(options: {
  id: string;
  serverSecret: string;
  model?: string;
  chunkDelayMs?: number;
  /** More flags for the test double (e.g. `--sglang`). */
  extraArgs?: string[];
}): Promise<ReplicaProcess> {
  const port = await freePort();
  const secret = replicaSecret(options.serverSecret, options.id);
  const child = spawn(
    process.execPath,
    [
      REPLICA_SCRIPT,
      "serve",
      options.model ?? "test-model",
      "--host",
      "127.0.0.1",
      "--port",
      String(port),
      "--api-key",
      secret,
      "--chunk-delay-ms",
      String(options.chunkDelayMs ?? 0),
      ...(options.extraArgs ?? []),
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  children.add(child);
  const exited = new Promise<void>((done) => child.once("exit", () => done()));
  await new Promise<void>((ready, fail) => {
    const timer = setTimeout(() => fail(new Error("test replica did not start within 10 s")), 10_000);
    child.stdout?.on("data", (chunk: Buffer) => {
      if (chunk.toString().includes("serving")) {
        clearTimeout(timer);
        ready();
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      fail(new Error(`test replica exited early with code ${code}`));
    });
  });
  return {
    id: options.id,
    port,
    secret,
    stats: () => getJson(`http://127.0.0.1:${port}/test/stats`, secret) as Promise<ReplicaStats>,
    stop: async () => {
      child.kill("SIGTERM");
      await exited;
      children.delete(child);
    },
  };
}

export async function stopAllReplicas(): Promise<void> {
  await Promise.all(
    [...children].map(
      (child) =>
        new Promise<void>((done) => {
          if (child.exitCode !== null || child.signalCode !== null) {
            children.delete(child);
            done();
            return;
          }
          child.once("exit", () => {
            children.delete(child);
            done();
          });
          child.kill("SIGTERM");
        }),
    ),
  );
}

function getJson(url: string, secret: string): Promise<unknown> {
  return new Promise((done, fail) => {
    const req = httpRequest(url, { headers: { authorization: `Bearer ${secret}` } }, (res) => {
      let text = "";
      res.on("data", (chunk: Buffer) => {
        text += chunk.toString();
      });
      res.on("end", () => done(JSON.parse(text)));
    });
    req.on("error", fail);
    req.end();
  });
}

/** A settable clock for `ctx.now`. */
export class FakeClock {
  constructor(public current = new Date("2026-06-01T10:00:00Z")) {}
  now = (): Date => new Date(this.current.getTime());
  advance(ms: number): void {
    this.current = new Date(this.current.getTime() + ms);
  }
}

const ADMIN: Principal = { tokenId: "tok_testadmin", admin: true };

export interface WorkloadInput {
  slug: string;
  task_type?: string;
  backend?: string;
  model?: string;
  execution_policy?: "fixed" | "scheduled" | "autoscaling";
  execution_policy_config?: Record<string, unknown>;
}

/** Store, workloads, keys and replica records, all written through the core functions. */
export class TestPlatform {
  readonly ctx: PlatformContext;

  /** On the memory store unless given another (the Lambda entry's tests use DynamoDB). */
  constructor(now: () => Date = () => new Date(), store?: Store, serverSecret = "gateway-test-secret") {
    this.ctx = { store: store ?? new MemoryStore(() => now().getTime()), serverSecret, now };
  }

  async workload(project: string, input: WorkloadInput): Promise<void> {
    const taskType = input.task_type ?? "text2text";
    const omni = ["text2image", "text2audio", "audio2text", "image2image", "image2text", "text2video", "image2video"];
    const backend = input.backend ?? (omni.includes(taskType) ? "vllm-omni" : "vllm");
    await ensureWorkload(this.ctx, ADMIN, project, {
      name: input.slug,
      slug: input.slug,
      model: input.model ?? "test-model",
      backend,
      task_type: taskType,
      ...(input.execution_policy === undefined ? {} : { execution_policy: input.execution_policy }),
      ...(input.execution_policy_config === undefined ? {} : { execution_policy_config: input.execution_policy_config }),
    });
  }

  /** The workload's current incarnation (what the demand signal is keyed by). */
  async incarnation(project: string, workload: string): Promise<string> {
    return workloadIncarnation(await getWorkloadRecord(this.ctx, ADMIN, project, workload));
  }

  /** Deletes the workload and removes its tombstone, as the controller does once its replicas are gone. */
  async remove(project: string, workload: string): Promise<void> {
    await deleteWorkload(this.ctx, ADMIN, project, workload);
    const key = { pk: `PRJ#${project}`, sk: `WL#${workload}` };
    await this.ctx.store.delete(key.pk, key.sk, { kind: "any" });
  }

  async key(
    project: string,
    workload: string,
    input: { rate_limit_per_minute?: number; max_concurrent_requests?: number; expires_at?: string } = {},
  ) {
    const created = await createKey(this.ctx, ADMIN, project, workload, KeyInputSchema.parse({ name: "test", ...input }));
    return { id: created.key.id, secret: created.secret };
  }

  /** The id a replica of (project, workload, slot) gets; start its process with this id's secret. */
  replicaIdFor(project: string, workload: string, slot = 0): string {
    return replicaId(project, workload, slot, 1, "inc_test");
  }

  async replica(
    project: string,
    workload: string,
    input: {
      slot?: number;
      port: number;
      host?: string;
      phase?: ReplicaRecord["phase"];
      desired?: ReplicaRecord["desired"];
      /** The replica sits behind a TLS front with this certificate (as its agent reported). */
      certificateSha256?: string;
    },
  ): Promise<ReplicaRecord> {
    const slot = input.slot ?? 0;
    const now = this.ctx.now().toISOString();
    const record: ReplicaRecord = {
      id: this.replicaIdFor(project, workload, slot),
      project,
      workload,
      slot,
      generation: 1,
      worker_id: "wrk_testworker",
      host: input.host ?? "127.0.0.1",
      port: input.port,
      ...(input.certificateSha256 === undefined ? {} : { front_certificate_sha256: input.certificateSha256 }),
      desired: input.desired ?? "running",
      phase: input.phase ?? "ready",
      restarts: 0,
      backend: "vllm",
      task_type: "text2text",
      model: "test-model",
      command: "test",
      gpu_indexes: [],
      hourly_price_usd: 0,
      created_at: now,
      updated_at: now,
    };
    await createReplica(this.ctx, record);
    return record;
  }

  async setPhase(project: string, workload: string, slot: number, phase: ReplicaRecord["phase"]): Promise<void> {
    await updateReplica(this.ctx, project, workload, slot, 1, (r) => ({ ...r, phase }));
  }
}

export interface ServedGateway {
  gateway: Gateway;
  http: HttpServerHandle;
  url: string;
  close(): Promise<void>;
}

/**
 * How the gateway is bound to HTTP: "direct" is node:http straight to `gateway.serve`, as `npm start`
 * serves it; "web" goes through web Request/Response (`gateway.handle`), as the Lambda entry does.
 */
export type GatewayBinding = "direct" | "web";
/** For `describe.each`: every promise holds on both bindings. */
export const GATEWAY_BINDINGS: { binding: GatewayBinding }[] = [{ binding: "direct" }, { binding: "web" }];

/** The gateway behind the local runtime's node:http server, bound as asked. */
export async function serveGateway(
  platform: TestPlatform,
  options: GatewayOptions = {},
  binding: GatewayBinding = "direct",
): Promise<ServedGateway> {
  const gateway = createGateway(platform.ctx, { usageFlushMs: 0, log: () => undefined, ...options });
  const http = await serve(
    (request) => gateway.handle(request),
    binding === "direct" ? { port: 0, direct: { prefix: "/endpoint/", serve: gateway.serve } } : { port: 0 },
  );
  return {
    gateway,
    http,
    url: http.url,
    close: async () => {
      await http.close();
      await gateway.close();
    },
  };
}

/** One raw HTTP/1.1 request: the path goes on the wire exactly as given (no URL normalisation). */
export function rawRequest(
  url: string,
  options: { method?: string; path: string; headers?: Record<string, string>; body?: string | Uint8Array },
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  const target = new URL(url);
  return new Promise((done, fail) => {
    const req = httpRequest(
      { host: target.hostname, port: target.port, method: options.method ?? "GET", path: options.path, headers: options.headers },
      (res) => {
        let text = "";
        res.on("data", (chunk: Buffer) => {
          text += chunk.toString();
        });
        res.on("end", () => done({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
      },
    );
    req.on("error", fail);
    req.end(options.body);
  });
}

export function bearer(secret: string): Record<string, string> {
  return { authorization: `Bearer ${secret}` };
}

/** One workload per synchronous modality, each with a ready replica process and a key. */
export const FLEET = [
  { slug: "chat", task_type: "text2text", routes: ["chat/completions", "completions", "models"] },
  { slug: "embed", task_type: "embedding", routes: ["embeddings"] },
  { slug: "img", task_type: "text2image", routes: ["images/generations"] },
  { slug: "edit", task_type: "image2image", routes: ["images/edits"] },
  { slug: "tts", task_type: "text2audio", routes: ["audio/speech"] },
  { slug: "stt", task_type: "audio2text", routes: ["audio/transcriptions"] },
] as const;

export interface Fleet {
  platform: TestPlatform;
  replicas: Map<string, ReplicaProcess>;
  keys: Map<string, { id: string; secret: string }>;
  /** Requests every replica has seen so far, summed. */
  upstreamRequests(): Promise<number>;
}

export async function startFleet(platform: TestPlatform, project = "acme", options: { chunkDelayMs?: number } = {}): Promise<Fleet> {
  const replicas = new Map<string, ReplicaProcess>();
  const keys = new Map<string, { id: string; secret: string }>();
  await Promise.all(
    FLEET.map(async (w) => {
      await platform.workload(project, { slug: w.slug, task_type: w.task_type, model: `model-${w.slug}` });
      const process = await startReplica({
        id: platform.replicaIdFor(project, w.slug),
        serverSecret: platform.ctx.serverSecret,
        model: `model-${w.slug}`,
        ...(options.chunkDelayMs === undefined ? {} : { chunkDelayMs: options.chunkDelayMs }),
      });
      await platform.replica(project, w.slug, { port: process.port });
      replicas.set(w.slug, process);
      keys.set(w.slug, await platform.key(project, w.slug));
    }),
  );
  return {
    platform,
    replicas,
    keys,
    upstreamRequests: async () => {
      let total = 0;
      for (const replica of replicas.values()) total += (await replica.stats()).requests;
      return total;
    },
  };
}

/** A 1x1 PNG, for image uploads. */
export const PNG_1X1 = Buffer.from(
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==",
  "base64",
);

/** A valid request for each route (method, body), as fetch init without headers. */
export function sampleRequest(route: string): { method: string; body?: string | FormData; contentType?: string } {
  const json = (body: unknown) => ({ method: "POST", body: JSON.stringify(body), contentType: "application/json" });
  switch (route) {
    // No `model`: the gateway sends the replica the one it serves (what vLLM itself does without one).
    case "chat/completions":
      return json({ messages: [{ role: "user", content: "hello there" }] });
    case "completions":
      return json({ prompt: "hello there" });
    case "embeddings":
      return json({ input: "hello there" });
    case "images/generations":
      return json({ model: "m", prompt: "a red square" });
    case "audio/speech":
      return json({ model: "m", input: "hello", voice: "alloy" });
    case "images/edits": {
      const form = new FormData();
      form.set("image", new File([PNG_1X1], "in.png", { type: "image/png" }));
      form.set("prompt", "make it blue");
      return { method: "POST", body: form };
    }
    case "audio/transcriptions": {
      const form = new FormData();
      form.set("file", new File([Buffer.alloc(2048, 7)], "clip.wav", { type: "audio/wav" }));
      form.set("model", "m");
      return { method: "POST", body: form };
    }
    default:
      return { method: "GET" };
  }
}
