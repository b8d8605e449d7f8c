import { BodyTooLargeError, readSourceLimited } from "../gateway/body";
import { RouteTable, DEFAULT_ROUTE_CACHE } from "../gateway/route-table";
import type { UpstreamTransport } from "../gateway/upstream";
import type { PlatformContext } from "../platform/context";
import type { BackendName } from "../spec/modalities";
import type { WorkloadRecord } from "../workloads";
import type { ExecutionOutcome, JobExecutor } from "./consumer";
import type { JobInput, JobRecord, JobResult, JobTaskType, RerankInput, RewardInput } from "./schema";

/**
 * The backend's native route per task type (docs/jobs.md has the table and the versions):
 * vLLM serves rerankers on `/v1/rerank` (also `/rerank`), classifiers on `/classify` and reward
 * models on `/pooling`; sglang serves `/v1/rerank` (a bare array), `/v1/classify`, and reward
 * models on its native `/classify` (`{"text": [...]}` -> `[{"embedding": [score]}]`).
 */
export const NATIVE_ROUTES: Readonly<Record<"vllm" | "sglang", Record<JobTaskType, string>>> = {
  vllm: { reranker: "/v1/rerank", classification: "/classify", reward: "/pooling" },
  sglang: { reranker: "/v1/rerank", classification: "/v1/classify", reward: "/classify" },
};

export function nativeRoute(backend: BackendName, taskType: JobTaskType): string | undefined {
  return backend === "vllm" || backend === "sglang" ? NATIVE_ROUTES[backend][taskType] : undefined;
}

/** The body the backend's route takes: the job's input with the workload's model. */
export function nativeRequestBody(backend: BackendName, taskType: JobTaskType, model: string, input: JobInput): Record<string, unknown> {
  if (backend === "sglang" && taskType === "reward") {
    const text = (input as { input?: string | string[] }).input;
    return { model, text: Array.isArray(text) ? text : [text] };
  }
  return { model, ...input };
}

class ShapeError extends Error {}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

function num(value: unknown, what: string): number {
  if (typeof value !== "number" || !Number.isFinite(value)) throw new ShapeError(`${what} is not a number`);
  return value;
}

function usageOf(body: Record<string, unknown>): { prompt_tokens?: number; total_tokens: number } {
  const usage = isRecord(body.usage) ? body.usage : {};
  const total = typeof usage.total_tokens === "number" ? usage.total_tokens : typeof usage.prompt_tokens === "number" ? usage.prompt_tokens : 0;
  return typeof usage.prompt_tokens === "number" ? { prompt_tokens: usage.prompt_tokens, total_tokens: total } : { total_tokens: total };
}

/** vLLM's `{results: [...]}` or sglang's bare `[{index, score}]` as `{results, usage}`, best first. */
export function normaliseRerank(body: unknown, input: RerankInput): JobResult {
  const rows = Array.isArray(body) ? body : isRecord(body) && Array.isArray(body.results) ? body.results : undefined;
  if (rows === undefined) throw new ShapeError("the rerank answer has no results");
  let tokens = 0;
  const results = rows.map((row: unknown, position) => {
    if (!isRecord(row)) throw new ShapeError("a rerank result is not an object");
    const index = typeof row.index === "number" ? row.index : position;
    const score = num(row.relevance_score ?? row.score, "relevance_score");
    const meta = isRecord(row.meta_info) ? row.meta_info : undefined;
    if (typeof meta?.prompt_tokens === "number") tokens += meta.prompt_tokens;
    const document = isRecord(row.document) && typeof row.document.text === "string"
      ? { text: row.document.text }
      : typeof row.document === "string"
        ? { text: row.document }
        : typeof input.documents[index] === "string"
          ? { text: input.documents[index] as string }
          : undefined;
    return { index, relevance_score: score, ...(document === undefined ? {} : { document }) };
  });
  results.sort((a, b) => b.relevance_score - a.relevance_score || a.index - b.index);
  const top = input.top_n === undefined ? results : results.slice(0, input.top_n);
  const usage = Array.isArray(body) ? { total_tokens: tokens } : { total_tokens: usageOf(body as Record<string, unknown>).total_tokens };
  return { results: top, usage };
}

/** vLLM's and sglang's classify answers (the same shape) as `{data, usage}`. */
export function normaliseClassification(body: unknown): JobResult {
  if (!isRecord(body) || !Array.isArray(body.data)) throw new ShapeError("the classify answer has no data");
  const data = body.data.map((row: unknown, position) => {
    if (!isRecord(row) || !Array.isArray(row.probs)) throw new ShapeError("a classification has no probs");
    const probs = row.probs.map((p) => num(p, "probs[]"));
    return {
      index: typeof row.index === "number" ? row.index : position,
      label: typeof row.label === "string" ? row.label : String(probs.indexOf(Math.max(...probs))),
      probs,
      num_classes: typeof row.num_classes === "number" ? row.num_classes : probs.length,
    };
  });
  return { data, usage: usageOf(body) };
}

/** A pooled output as a reward: a number for a sequence reward, a list for per-token rewards. */
function rewardOf(value: unknown): number | number[] {
  if (typeof value === "number") return num(value, "reward");
  if (!Array.isArray(value) || value.length === 0) throw new ShapeError("a reward is neither a number nor a list");
  const flat = value.map((v) => (Array.isArray(v) && v.length === 1 ? v[0] : v));
  if (flat.length === 1) return num(flat[0], "reward");
  return flat.map((v) => num(v, "reward[]"));
}

/** vLLM's `/pooling` (`data[].data`) or `/classify` (`data[].probs`), or sglang's `/classify` (`[{embedding}]`), as `{data: [{index, reward}], usage}`. */
export function normaliseReward(body: unknown): JobResult {
  if (Array.isArray(body)) {
    let tokens = 0;
    const data = body.map((row: unknown, index) => {
      if (!isRecord(row)) throw new ShapeError("a reward result is not an object");
      const meta = isRecord(row.meta_info) ? row.meta_info : undefined;
      if (typeof meta?.prompt_tokens === "number") tokens += meta.prompt_tokens;
      return { index, reward: rewardOf(row.embedding) };
    });
    return { data, usage: { total_tokens: tokens } };
  }
  if (!isRecord(body) || !Array.isArray(body.data)) throw new ShapeError("the reward answer has no data");
  const data = body.data.map((row: unknown, position) => {
    if (!isRecord(row)) throw new ShapeError("a reward result is not an object");
    return { index: typeof row.index === "number" ? row.index : position, reward: rewardOf(row.data ?? row.probs) };
  });
  return { data, usage: usageOf(body) };
}

export function normaliseResult(taskType: JobTaskType, body: unknown, input: JobInput): JobResult {
  switch (taskType) {
    case "reranker":
      return normaliseRerank(body, input as RerankInput);
    case "classification":
      return normaliseClassification(body);
    case "reward":
      return normaliseReward(body);
  }
}

export interface ReplicaJobExecutorOptions {
  transport: UpstreamTransport;
  /** Waiting for the replica's answer (headers and body). Default 300 s. */
  timeoutMs?: number;
  connectTimeoutMs?: number;
  /** Largest answer read. Default 64 MiB. */
  maxResponseBytes?: number;
}

/** Replica answers that mean the replica, not the input, is the problem: worth another attempt. */
function retryableStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

/**
 * Runs jobs on ready replicas with the gateway's transport (pinned TLS to worker fronts, replica
 * secrets): one call to the native route, bounded by a timeout, its answer normalised to the
 * job's result shape. Classification and reward inputs go whole in one call, as the backend batches.
 */
export function replicaJobExecutor(ctx: PlatformContext, options: ReplicaJobExecutorOptions): JobExecutor & { invalidate(project: string, workload: string): void } {
  // Short cache: a replica that became ready is seen within a second; invalidate() makes it at once.
  const routes = new RouteTable(ctx, { ...DEFAULT_ROUTE_CACHE, ttlMs: 1000 });
  const timeoutMs = options.timeoutMs ?? 300_000;
  return {
    invalidate: (project, workload) => routes.invalidate(project, workload),
    async hasReadyReplica(project, workload) {
      const info = await routes.get(project, workload);
      return info.ready.length > 0;
    },
    async execute(job: JobRecord, input: JobInput, workload: WorkloadRecord, signal?: AbortSignal): Promise<ExecutionOutcome> {
      const backend = workload.spec.backend;
      const path = nativeRoute(backend, job.task_type);
      if (path === undefined) {
        return { kind: "failed", retryable: false, code: "backend_unsupported", message: `Backend ${backend} has no route for ${job.task_type} jobs (vllm and sglang have).` };
      }
      if (backend === "sglang" && job.task_type === "reward" && "messages" in (input as RewardInput)) {
        return { kind: "failed", retryable: false, code: "invalid_input", message: "sglang's /classify takes text: submit {\"input\": ...} (the conversation with its chat template applied) to sglang reward workloads." };
      }
      const info = await routes.refresh(job.project, job.workload);
      const tried = new Set<string>();
      let lastFailure: ExecutionOutcome = { kind: "no_replica" };
      for (let attempt = 0; attempt < 2; attempt++) {
        const replica = routes.pick(info.ready, tried);
        if (replica === undefined) break;
        tried.add(replica.id);
        routes.acquire(replica.id);
        if (signal?.aborted) return { kind: "failed", retryable: true, code: "consumer_stopped", message: "The consumer stopped before the call." };
        const controller = new AbortController();
        const timer = setTimeout(() => controller.abort(), timeoutMs);
        const stop = () => controller.abort();
        signal?.addEventListener("abort", stop, { once: true });
        try {
          const body = Buffer.from(JSON.stringify(nativeRequestBody(backend, job.task_type, workload.spec.model, input)));
          const response = await options.transport.send({
            host: replica.host,
            port: replica.port,
            path,
            method: "POST",
            headers: { "content-type": "application/json", "content-length": String(body.byteLength), authorization: replica.authorization },
            certificateSha256: replica.certificateSha256,
            body,
            signal: controller.signal,
            connectTimeoutMs: options.connectTimeoutMs ?? 5000,
          });
          const raw = response.body === null ? new Uint8Array(0) : await readSourceLimited(response.body, options.maxResponseBytes ?? 64 * 1024 * 1024);
          const text = Buffer.from(raw).toString("utf8");
          if (response.status < 200 || response.status >= 300) {
            const message = `The replica answered ${response.status} on ${path}: ${text.slice(0, 300)}`;
            if (retryableStatus(response.status)) {
              lastFailure = { kind: "failed", retryable: true, code: "upstream_error", message };
              continue;
            }
            return { kind: "failed", retryable: false, code: "upstream_rejected", message };
          }
          let parsed: unknown;
          try {
            parsed = JSON.parse(text);
          } catch {
            return { kind: "failed", retryable: false, code: "upstream_bad_response", message: `The replica's answer on ${path} is not JSON.` };
          }
          return { kind: "succeeded", result: normaliseResult(job.task_type, parsed, input) };
        } catch (error) {
          if (error instanceof ShapeError) {
            return { kind: "failed", retryable: false, code: "upstream_bad_response", message: `The replica's answer on ${path} has an unexpected shape: ${error.message}.` };
          }
          if (error instanceof BodyTooLargeError) {
            return { kind: "failed", retryable: false, code: "upstream_bad_response", message: `The replica's answer on ${path} exceeds ${options.maxResponseBytes ?? 64 * 1024 * 1024} bytes.` };
          }
          if (signal?.aborted) {
            return { kind: "failed", retryable: true, code: "consumer_stopped", message: "The consumer stopped during the call; the job is retried." };
          }
          if (controller.signal.aborted) {
            lastFailure = { kind: "failed", retryable: true, code: "upstream_timeout", message: `The replica did not answer within ${timeoutMs / 1000} s.` };
            continue;
          }
          routes.markDown(replica.id);
          lastFailure = { kind: "failed", retryable: true, code: "upstream_unreachable", message: `The replica could not be reached: ${error instanceof Error ? error.message : String(error)}` };
        } finally {
          clearTimeout(timer);
          signal?.removeEventListener("abort", stop);
          routes.release(replica.id);
        }
      }
      return lastFailure;
    },
  };
}
