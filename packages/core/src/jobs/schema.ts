import * as z from "zod/mini";
import "../zod";

/**
 * Async jobs (reranker, classification, reward): the job record, its states and the messages on the
 * job queue. Zod schemas are the single source of the types (docs/jobs.md is held to them).
 */

export const JOB_TASK_TYPES = ["reranker", "classification", "reward"] as const;
export type JobTaskType = (typeof JOB_TASK_TYPES)[number];

export function isJobTaskType(taskType: string): taskType is JobTaskType {
  return (JOB_TASK_TYPES as readonly string[]).includes(taskType);
}

export const JOB_STATUSES = ["queued", "waiting", "running", "succeeded", "failed", "cancelled", "expired"] as const;
export const JobStatusSchema = z.enum(JOB_STATUSES);
export type JobStatus = (typeof JOB_STATUSES)[number];

export const TERMINAL_STATUSES: readonly JobStatus[] = ["succeeded", "failed", "cancelled", "expired"];

export function isTerminal(status: JobStatus): boolean {
  return TERMINAL_STATUSES.includes(status);
}

/**
 * Every allowed transition. `waiting -> queued`: a replica became ready and the controller
 * re-enqueued the job. `running -> queued`: the call failed in a way a retry may fix (the message
 * comes back after its visibility timeout). `running -> running`: a redelivered message took over a
 * job whose consumer vanished (its lease ran out). `queued -> queued`: re-enqueued after a lost send.
 * Terminal states have no way out, so a duplicate message can never undo a finished job.
 */
export const JOB_TRANSITIONS: Readonly<Record<JobStatus, readonly JobStatus[]>> = {
  queued: ["queued", "waiting", "running", "failed", "cancelled", "expired"],
  waiting: ["queued", "running", "failed", "cancelled", "expired"],
  running: ["running", "queued", "waiting", "succeeded", "failed"],
  succeeded: [],
  failed: [],
  cancelled: [],
  expired: [],
};

export function canTransition(from: JobStatus, to: JobStatus): boolean {
  return JOB_TRANSITIONS[from].includes(to);
}

/** Defaults of the spec's optional `jobs` block. */
export const DEFAULT_MAX_QUEUE_SECONDS = 3600;
export const DEFAULT_RESULT_TTL_SECONDS = 604_800;
/** Bounds of both (a day in the queue at most; results kept 60 s to 30 days). */
export const MAX_QUEUE_SECONDS_LIMIT = 86_400;
export const MAX_RESULT_TTL_SECONDS = 30 * 86_400;

/** The spec's optional `jobs` block, for async task types only. */
export const JobsConfigSchema = z.strictObject({
  max_queue_seconds: z.optional(z.number().check(z.int(), z.gte(1), z.lte(MAX_QUEUE_SECONDS_LIMIT))),
  result_ttl_seconds: z.optional(z.number().check(z.int(), z.gte(60), z.lte(MAX_RESULT_TTL_SECONDS))),
});
export type JobsConfig = z.output<typeof JobsConfigSchema>;

/** Largest job input (the body without the reserved fields), in bytes of JSON. */
export const MAX_JOB_INPUT_BYTES = 1024 * 1024;

const text = z.string().check(z.maxLength(MAX_JOB_INPUT_BYTES));

export const RerankInputSchema = z.strictObject({
  query: text,
  documents: z.array(text).check(z.minLength(1), z.maxLength(10_000)),
  top_n: z.optional(z.number().check(z.int(), z.gte(1))),
});

export const ClassificationInputSchema = z.strictObject({
  input: z.union([text, z.array(text).check(z.minLength(1), z.maxLength(10_000))]),
});

const MessageSchema = z.strictObject({
  role: z.string().check(z.minLength(1), z.maxLength(64)),
  content: text,
});

export const RewardInputSchema = z.union([
  z.strictObject({ input: z.union([text, z.array(text).check(z.minLength(1), z.maxLength(10_000))]) }),
  z.strictObject({ messages: z.array(MessageSchema).check(z.minLength(1), z.maxLength(10_000)) }),
]);

export const JOB_INPUT_SCHEMAS = {
  reranker: RerankInputSchema,
  classification: ClassificationInputSchema,
  reward: RewardInputSchema,
} as const;

export type RerankInput = z.output<typeof RerankInputSchema>;
export type ClassificationInput = z.output<typeof ClassificationInputSchema>;
export type RewardInput = z.output<typeof RewardInputSchema>;
export type JobInput = RerankInput | ClassificationInput | RewardInput;

export const WebhookRequestSchema = z.strictObject({
  url: z.string().check(z.minLength(1), z.maxLength(2048)),
});

export const WEBHOOK_DELIVERY_STATUSES = ["pending", "delivered", "failed"] as const;

export const WebhookDeliverySchema = z.object({
  status: z.enum(WEBHOOK_DELIVERY_STATUSES),
  attempts: z.number().check(z.int(), z.gte(0)),
  last_status: z.nullable(z.number().check(z.int())),
  last_error: z.nullable(z.string()),
  delivered_at: z.nullable(z.string()),
  /** Internal: when the next attempt is due (not part of the wire job). */
  next_attempt_at: z.optional(z.nullable(z.string())),
});
export type WebhookDelivery = z.output<typeof WebhookDeliverySchema>;

export const JobErrorSchema = z.object({ code: z.string(), message: z.string() });
export type JobError = z.output<typeof JobErrorSchema>;

export const RerankResultSchema = z.object({
  results: z.array(
    z.object({
      index: z.number().check(z.int()),
      relevance_score: z.number(),
      document: z.optional(z.object({ text: z.string() })),
    }),
  ),
  usage: z.object({ total_tokens: z.number().check(z.int()) }),
});
export const ClassificationResultSchema = z.object({
  data: z.array(
    z.object({ index: z.number().check(z.int()), label: z.string(), probs: z.array(z.number()), num_classes: z.number().check(z.int()) }),
  ),
  usage: z.object({ prompt_tokens: z.optional(z.number().check(z.int())), total_tokens: z.number().check(z.int()) }),
});
export const RewardResultSchema = z.object({
  data: z.array(z.object({ index: z.number().check(z.int()), reward: z.union([z.number(), z.array(z.number())]) })),
  usage: z.object({ prompt_tokens: z.optional(z.number().check(z.int())), total_tokens: z.number().check(z.int()) }),
});
export type RerankResult = z.output<typeof RerankResultSchema>;
export type ClassificationResult = z.output<typeof ClassificationResultSchema>;
export type RewardResult = z.output<typeof RewardResultSchema>;
export type JobResult = RerankResult | ClassificationResult | RewardResult;

/**
 * A job as stored. The wire job (`toWireJob`) is this minus the internal fields: the input, the
 * body digest, blob pointers, the lease and the incarnation. Loose: fields a newer deploy wrote are
 * kept through a read and a rewrite.
 */
export const JobRecordSchema = z.looseObject({
  id: z.string(),
  project: z.string(),
  workload: z.string(),
  /** The workload's life the job was submitted to: a re-created slug never runs a former life's jobs. */
  incarnation: z.string(),
  task_type: z.enum(JOB_TASK_TYPES),
  status: JobStatusSchema,
  created_at: z.string(),
  started_at: z.nullable(z.string()),
  finished_at: z.nullable(z.string()),
  expires_at: z.string(),
  history: z.array(z.object({ status: JobStatusSchema, at: z.string() })),
  attempts: z.number().check(z.int(), z.gte(0)),
  max_queue_seconds: z.number().check(z.int()),
  result_ttl_seconds: z.number().check(z.int()),
  idempotency_key: z.nullable(z.string()),
  /** SHA-256 (hex) of the canonical input and reserved fields: an idempotent retry must match it. */
  body_digest: z.string(),
  /** The input, or (over the inline limit) a blob key holding it. */
  input: z.optional(z.unknown()),
  input_blob: z.optional(z.string()),
  result: z.nullable(z.unknown()),
  result_blob: z.optional(z.string()),
  error: z.nullable(JobErrorSchema),
  webhook: z.nullable(z.object({ url: z.string(), delivery: WebhookDeliverySchema })),
  /** When the job was last put on the queue (submit, re-enqueue): the controller re-sends jobs queued too long. */
  enqueued_at: z.string(),
  /** Set when sending its message failed: the controller's next upkeep re-sends it. */
  unsent: z.optional(z.boolean()),
  /** While running: until when the consumer that took it owns it; a redelivery after that takes over. */
  lease_until: z.optional(z.string()),
});
export type JobRecord = z.output<typeof JobRecordSchema>;

/** The one way a stored job item becomes a record (throws on an item that is not a job). */
export function decodeJob(data: unknown): JobRecord {
  return JobRecordSchema.parse(data);
}

/** The idempotency claim of a job (`JOBIDEM#` item). */
export const JobIdempotencyClaimSchema = z.looseObject({ job_id: z.string(), body_digest: z.string() });
/** A pending webhook delivery in the outbox (`JOBHOOK` item). */
export const WebhookOutboxEntrySchema = z.looseObject({ job_id: z.string(), project: z.string(), workload: z.string() });

export const JOB_MESSAGE_VERSION = 1 as const;

/**
 * What the platform puts on the job queue: a job id only (the job record holds the input), so a
 * message is small, carries no secret and no result, and a redelivered one is harmless.
 */
export const JobMessageSchema = z.strictObject({
  version: z.literal(JOB_MESSAGE_VERSION),
  type: z.literal("job"),
  job_id: z.string().check(z.regex(/^job_[0-9A-Za-z]{4,64}$/)),
  project: z.string().check(z.minLength(1), z.maxLength(63)),
  workload: z.string().check(z.minLength(1), z.maxLength(63)),
});
export type JobMessage = z.output<typeof JobMessageSchema>;

/**
 * What a direct producer (a service with IAM access to the queue) sends: the job itself, signed
 * with an HMAC of the workload's producer secret (`iksp_...`), never an API key. The consumer
 * verifies the signature, creates the job (idempotently, by `idempotency_key`) and runs it.
 * `input_pointer` names an object holding an input over the queue's message limit.
 */
export const ProducerMessageSchema = z.strictObject({
  version: z.literal(JOB_MESSAGE_VERSION),
  type: z.literal("submit"),
  project: z.string().check(z.minLength(1), z.maxLength(63)),
  workload: z.string().check(z.minLength(1), z.maxLength(63)),
  idempotency_key: z.string().check(z.regex(/^[\x21-\x7e]{1,255}$/)),
  input: z.optional(z.record(z.string(), z.unknown())),
  input_pointer: z.optional(z.string().check(z.minLength(1), z.maxLength(1024))),
  webhook: z.optional(WebhookRequestSchema),
  max_queue_seconds: z.optional(z.number().check(z.int(), z.gte(1), z.lte(MAX_QUEUE_SECONDS_LIMIT))),
  /** Unix seconds when signed; messages older than the signature tolerance are refused. */
  signed_at: z.number().check(z.int()),
  /** `v1,<base64 HMAC-SHA256 of the canonical message without this field>`. */
  signature: z.string().check(z.minLength(1), z.maxLength(512)),
});
export type ProducerMessage = z.output<typeof ProducerMessageSchema>;

export const QueueMessageSchema = z.discriminatedUnion("type", [JobMessageSchema, ProducerMessageSchema]);
export type QueueMessage = z.output<typeof QueueMessageSchema>;

/** The job object of the data-plane API (docs/jobs.md). */
export interface WireJob {
  id: string;
  object: "job";
  project: string;
  workload: string;
  task_type: JobTaskType;
  status: JobStatus;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  expires_at: string;
  history: { status: JobStatus; at: string }[];
  attempts: number;
  max_queue_seconds: number;
  idempotency_key: string | null;
  result: unknown;
  error: JobError | null;
  webhook: null | {
    url: string;
    delivery: { status: WebhookDelivery["status"]; attempts: number; last_status: number | null; last_error: string | null; delivered_at: string | null };
  };
}

/** The record as the API shows it; `result` is the resolved one (read from its blob if it was stored there). */
export function toWireJob(record: JobRecord, result: unknown = record.result): WireJob {
  return {
    id: record.id,
    object: "job",
    project: record.project,
    workload: record.workload,
    task_type: record.task_type,
    status: record.status,
    created_at: record.created_at,
    started_at: record.started_at,
    finished_at: record.finished_at,
    expires_at: record.expires_at,
    history: record.history,
    attempts: record.attempts,
    max_queue_seconds: record.max_queue_seconds,
    idempotency_key: record.idempotency_key,
    result: result ?? null,
    error: record.error,
    webhook:
      record.webhook === null
        ? null
        : {
            url: record.webhook.url,
            delivery: {
              status: record.webhook.delivery.status,
              attempts: record.webhook.delivery.attempts,
              last_status: record.webhook.delivery.last_status,
              last_error: record.webhook.delivery.last_error,
              delivered_at: record.webhook.delivery.delivered_at,
            },
          },
  };
}
