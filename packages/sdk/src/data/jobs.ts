import { InferenceKeyError } from "../errors";
import { isRecord } from "../http/http-client";
import type { OpenLiteral } from "../spec";
import { type TokenUsage, toTokenUsage } from "./results";

/**
 * Where a job is: `queued` (accepted), `waiting` (no ready replica yet; it waits up to its
 * `maxQueueSeconds`), `running`, then one of the terminal states `succeeded`, `failed`,
 * `cancelled`, `expired`.
 *
 * @example
 * ```ts
 * const status: JobStatus = (await ep.getJob("job_123")).status;
 * if (status === "waiting") console.log("the workload is starting a replica");
 * ```
 */
export type JobStatus = OpenLiteral<
  "queued" | "waiting" | "running" | "succeeded" | "failed" | "cancelled" | "expired"
>;

const TERMINAL: ReadonlySet<string> = new Set(["succeeded", "failed", "cancelled", "expired"]);

/**
 * Whether a job status is final (`succeeded`, `failed`, `cancelled`, `expired`): the job changes no more.
 *
 * @example
 * ```ts
 * isTerminalJobStatus("running"); // false
 * isTerminalJobStatus("expired"); // true
 * ```
 */
export function isTerminalJobStatus(status: string): boolean {
  return TERMINAL.has(status);
}

/**
 * One entry of a job's `history`: a status and when the job reached it (ISO 8601).
 *
 * @example
 * ```ts
 * for (const step of job.history) console.log(step.at, step.status);
 * ```
 */
export interface JobHistoryEntry {
  status: JobStatus;
  at: string;
}

/**
 * The webhook of a job: the `url` called when it ends, and how its delivery went.
 *
 * @example
 * ```ts
 * const delivery = job.webhook?.delivery;
 * if (delivery?.status === "failed") console.error(delivery.lastStatus, delivery.lastError);
 * ```
 */
export interface JobWebhook {
  url: string;
  delivery: {
    status: OpenLiteral<"pending" | "delivered" | "failed">;
    attempts: number;
    lastStatus: number | null;
    lastError: string | null;
    deliveredAt: string | null;
  } | null;
}

/**
 * One result of a rerank: the document's `index` in the input, its `relevanceScore`, and the
 * `document` itself when the server returns it.
 *
 * @example
 * ```ts
 * const [best]: RerankItem[] = (await ep.rerank({ query, documents })).results;
 * console.log(documents[best.index], best.relevanceScore);
 * ```
 */
export interface RerankItem {
  index: number;
  relevanceScore: number;
  document?: { text: string } | undefined;
}

/**
 * A reranker job's result: `results` sorted by `relevanceScore`, highest first, token `usage`, and
 * the `raw` wire result.
 *
 * @example
 * ```ts
 * const ranked: RerankResult = await ep.jobs.rerank({ query: "refund policy", documents });
 * for (const r of ranked.results) console.log(r.relevanceScore.toFixed(3), documents[r.index]);
 * ```
 */
export interface RerankResult {
  results: RerankItem[];
  usage: TokenUsage | undefined;
  raw: Record<string, unknown>;
}

/**
 * What the synchronous `rerank()` returns: a {@link RerankResult} plus the answer's `id` and the
 * `model` that scored it.
 *
 * @example
 * ```ts
 * const out: Rerank = await ep.rerank({ query: "refund policy", documents, topN: 3 });
 * console.log(out.model, out.results.map((r) => r.index));
 * ```
 */
export interface Rerank extends RerankResult {
  id: string;
  model: string;
}

/**
 * One classified input: its `index`, the winning `label`, the class probabilities `probs` and
 * `numClasses`.
 *
 * @example
 * ```ts
 * const { data } = await ep.classify({ input: ["great product", "never again"] });
 * for (const c of data) console.log(c.index, c.label, Math.max(...c.probs));
 * ```
 */
export interface ClassificationItem {
  index: number;
  label: string;
  probs: number[];
  numClasses: number;
}

/**
 * A classification job's result: one entry per input in input order, token `usage`, `raw`.
 *
 * @example
 * ```ts
 * const out: ClassificationResult = await ep.classify({ input: "great product" });
 * console.log(out.data[0]?.label);
 * ```
 */
export interface ClassificationResult {
  data: ClassificationItem[];
  usage: TokenUsage | undefined;
  raw: Record<string, unknown>;
}

/**
 * One scored input of a reward job: a number for a sequence reward, a list for per-token rewards.
 *
 * @example
 * ```ts
 * const [first] = (await ep.reward({ input: "The answer is 4." })).data;
 * console.log(typeof first?.reward === "number" ? first.reward : first?.reward.at(-1));
 * ```
 */
export interface RewardItem {
  index: number;
  reward: number | number[];
}

/**
 * A reward job's result: one entry per input in input order, token `usage`, `raw`.
 *
 * @example
 * ```ts
 * const out: RewardResult = await ep.reward({ messages: [{ role: "user", content: "2+2?" }, { role: "assistant", content: "4" }] });
 * console.log(out.data[0]?.reward);
 * ```
 */
export interface RewardResult {
  data: RewardItem[];
  usage: TokenUsage | undefined;
  raw: Record<string, unknown>;
}

/**
 * What a job's `result` holds: a {@link RerankResult}, {@link ClassificationResult} or
 * {@link RewardResult} according to the job's `taskType` (for another task type, `{ raw }`).
 * Pass the type you expect to `getJob<R>()` / `waitForJob<R>()` to narrow it.
 *
 * @example
 * ```ts
 * const job = await ep.waitForJob<ClassificationResult>("job_123");
 * if (job.status === "succeeded") console.log(job.result?.data[0]?.label);
 * ```
 */
export type JobResult = RerankResult | ClassificationResult | RewardResult | { raw: Record<string, unknown> };

/**
 * An async job as the API answers it, camelCased: `{ id, project, workload, taskType, status,
 * createdAt, startedAt, finishedAt, expiresAt, history, attempts, maxQueueSeconds, idempotencyKey,
 * result, error, webhook, raw }`. Times are ISO 8601; `result` is set once `succeeded`, `error`
 * (`{ code, message }`) once `failed`.
 *
 * @example
 * ```ts
 * const job: Job = await ep.submitJob({ input: { input: ["great product", "never again"] } });
 * console.log(job.id, job.status, job.expiresAt);
 * ```
 */
export interface Job<R = JobResult> {
  id: string;
  project: string;
  workload: string;
  taskType: string;
  status: JobStatus;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  /** When the record and its result are dropped. */
  expiresAt: string;
  history: JobHistoryEntry[];
  attempts: number;
  maxQueueSeconds: number | null;
  idempotencyKey: string | null;
  result: R | null;
  error: { code: string; message: string } | null;
  webhook: JobWebhook | null;
  /** The job object as received. */
  raw: Record<string, unknown>;
}

function invalidResponse(message: string): InferenceKeyError {
  return new InferenceKeyError({ code: "invalid_response", message });
}

function str(value: unknown): string {
  return typeof value === "string" ? value : "";
}

function strOrNull(value: unknown): string | null {
  return typeof value === "string" ? value : null;
}

function num(value: unknown): number | undefined {
  return typeof value === "number" && Number.isFinite(value) ? value : undefined;
}

function records(value: unknown): Record<string, unknown>[] {
  return Array.isArray(value) ? value.filter(isRecord) : [];
}

/** Entries ordered by their `index` (the contract), falling back to their position. */
function byIndex(items: Record<string, unknown>[]): Array<{ item: Record<string, unknown>; index: number }> {
  return items
    .map((item, position) => ({ item, index: num(item.index) ?? position }))
    .sort((a, b) => a.index - b.index);
}

/** A rerank result (job or synchronous), sorted by score, highest first, whatever order it came in. */
export function toRerankResult(wire: unknown): RerankResult {
  if (!isRecord(wire)) throw invalidResponse("A rerank result must be a JSON object with results[].");
  const results = records(wire.results).map((item, position): RerankItem => {
    const document = isRecord(item.document) && typeof item.document.text === "string" ? { text: item.document.text } : undefined;
    return {
      index: num(item.index) ?? position,
      // sglang's native route calls it `score`; the gateway normalises, but read both.
      relevanceScore: num(item.relevance_score) ?? num(item.score) ?? 0,
      ...(document === undefined ? {} : { document }),
    };
  });
  results.sort((a, b) => b.relevanceScore - a.relevanceScore || a.index - b.index);
  return { results, usage: toTokenUsage(wire.usage), raw: wire };
}

/** The synchronous `/v1/rerank` answer. */
export function toRerank(wire: unknown): Rerank {
  const result = toRerankResult(wire);
  return { id: str(result.raw.id), model: str(result.raw.model), ...result };
}

/** A classification result, entries in input order. */
export function toClassificationResult(wire: unknown): ClassificationResult {
  if (!isRecord(wire)) throw invalidResponse("A classification result must be a JSON object with data[].");
  const data = byIndex(records(wire.data)).map(({ item, index }) => {
    const probs = Array.isArray(item.probs) ? item.probs.map(Number) : [];
    return { index, label: str(item.label), probs, numClasses: num(item.num_classes) ?? probs.length };
  });
  return { data, usage: toTokenUsage(wire.usage), raw: wire };
}

/** A reward result, entries in input order; `reward` a number or a list of numbers. */
export function toRewardResult(wire: unknown): RewardResult {
  if (!isRecord(wire)) throw invalidResponse("A reward result must be a JSON object with data[].");
  const data = byIndex(records(wire.data)).map(({ item, index }) => {
    const reward = Array.isArray(item.reward) ? item.reward.map(Number) : (num(item.reward) ?? Number.NaN);
    return { index, reward };
  });
  return { data, usage: toTokenUsage(wire.usage), raw: wire };
}

function toResult(taskType: string, wire: unknown): JobResult | null {
  if (wire === null || wire === undefined) return null;
  if (taskType === "reranker") return toRerankResult(wire);
  if (taskType === "classification") return toClassificationResult(wire);
  if (taskType === "reward") return toRewardResult(wire);
  return { raw: isRecord(wire) ? wire : { value: wire } };
}

function toWebhook(wire: unknown): JobWebhook | null {
  if (!isRecord(wire)) return null;
  const d = wire.delivery;
  return {
    url: str(wire.url),
    delivery: isRecord(d)
      ? {
          status: str(d.status),
          attempts: num(d.attempts) ?? 0,
          lastStatus: num(d.last_status) ?? null,
          lastError: strOrNull(d.last_error),
          deliveredAt: strOrNull(d.delivered_at),
        }
      : null,
  };
}

/** A job object as {@link Job}; an answer without an `id` and `status` is not a job. */
export function toJob<R = JobResult>(wire: unknown): Job<R> {
  if (!isRecord(wire) || typeof wire.id !== "string" || typeof wire.status !== "string") {
    throw invalidResponse(
      `Expected a job object ({"id": "job_...", "status": ...}), got ${JSON.stringify(wire)?.slice(0, 200)}.`,
    );
  }
  const taskType = str(wire.task_type);
  const error = isRecord(wire.error) ? { code: str(wire.error.code), message: str(wire.error.message) } : null;
  return {
    id: wire.id,
    project: str(wire.project),
    workload: str(wire.workload),
    taskType,
    status: wire.status,
    createdAt: str(wire.created_at),
    startedAt: strOrNull(wire.started_at),
    finishedAt: strOrNull(wire.finished_at),
    expiresAt: str(wire.expires_at),
    history: records(wire.history).map((entry) => ({ status: str(entry.status), at: str(entry.at) })),
    attempts: num(wire.attempts) ?? 0,
    maxQueueSeconds: num(wire.max_queue_seconds) ?? null,
    idempotencyKey: strOrNull(wire.idempotency_key),
    result: toResult(taskType, wire.result) as R | null,
    error,
    webhook: toWebhook(wire.webhook),
    raw: wire,
  };
}

/** A `{"object": "list", "data": [job...], "next_cursor"}` page. */
export function toJobPage(wire: unknown): { data: Job[]; nextCursor: string | undefined } {
  if (!isRecord(wire) || !Array.isArray(wire.data)) {
    throw invalidResponse('Expected a list of jobs ({"object": "list", "data": [...]}).');
  }
  const cursor = wire.next_cursor;
  return {
    data: wire.data.map((job) => toJob(job)),
    nextCursor: typeof cursor === "string" && cursor !== "" ? cursor : undefined,
  };
}
