import * as z from "zod/mini";
import "../zod";
import { type JobsConfig, JobsConfigSchema } from "../jobs/schema";
import { BACKENDS, EXECUTION_POLICIES, ON_DRIFT, TASK_TYPES } from "./modalities";

/**
 * The WorkloadSpec wire contract (snake_case JSON), the single source of the spec's types.
 * Structure lives here; rules that span fields (backend vs task_type, cron syntax, worker
 * references) live in `validate.ts`, which reports every problem at once.
 */

export const SLUG_PATTERN = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
export const WORKER_ID_PATTERN = /^wrk_[0-9A-Za-z]{4,64}$/;
/**
 * A version such as 0.6.3, 0.6.3.post1, 0.6.3+cu121 or 0.6.3rc1. Linear: a suffix starts with a
 * separator or a letter, so a run of digits can be split between the parts only one way.
 */
export const VLLM_VERSION_PATTERN = /^\d+\.\d+(?:\.\d+)?(?:[.+-][0-9A-Za-z.]+|[A-Za-z][0-9A-Za-z.]*)?$/;
/** Longest vllm_version accepted (checked before the pattern runs). */
export const MAX_VLLM_VERSION_LENGTH = 64;
export const CUDA_VERSION_PATTERN = /^\d+\.\d+$/;
/**
 * A model name: `org/name`, ollama's `name:tag`, `hf.co/org/repo:Q4_K_M`, an absolute local path.
 * Only characters such names use, none a shell interprets (no spaces, quotes, `;`, `$`, `|`, `&`, `>`).
 */
export const MODEL_PATTERN = /^[A-Za-z0-9_/][A-Za-z0-9_.:@+/-]*$/;

export const BackendSchema = z.enum(BACKENDS);
export const TaskTypeSchema = z.enum(TASK_TYPES);
export const ExecutionPolicySchema = z.enum(EXECUTION_POLICIES);
export const OnDriftSchema = z.enum(ON_DRIFT);

const replicaCount = (min: number) => z.number().check(z.int(), z.gte(min), z.lte(64));

/** fixed: a constant set of replicas, always on. `replicas: 0` keeps the workload declared but stopped. */
export const FixedConfigSchema = z.strictObject({
  replicas: z._default(replicaCount(0), 1),
});

/**
 * scheduled: exactly one of `window` or `cron`.
 * - `window`: `DAYS HH:MM-HH:MM [TZ]`, open during the window.
 * - `cron`: five fields, evaluated in `timezone` (default UTC); each firing starts a run lasting
 *   `run_duration_minutes` (default 60); a firing during a run extends it.
 * `replicas` (default 1) run while the schedule is open.
 */
export const ScheduledConfigSchema = z.strictObject({
  window: z.optional(z.string().check(z.minLength(1))),
  cron: z.optional(z.string().check(z.minLength(1))),
  timezone: z.optional(z.string().check(z.minLength(1))),
  run_duration_minutes: z.optional(z.number().check(z.int(), z.gte(1), z.lte(10_080))),
  replicas: z._default(replicaCount(1), 1),
});

export const CloudPoolSchema = z.strictObject({
  gpu_pool: z.array(z.string().check(z.minLength(1))).check(z.minLength(1)),
  max_hourly_cost_usd: z.optional(z.number().check(z.positive())),
  max_instances: z.optional(z.number().check(z.int(), z.gte(1), z.lte(1000))),
  allowed_cuda_versions: z.optional(z.array(z.string().check(z.regex(CUDA_VERSION_PATTERN))).check(z.minLength(1))),
});

export const CloudWorkersSchema = z.strictObject({
  source: z.literal("cloud"),
  cloud_pool: CloudPoolSchema,
});

export const PrivateWorkersSchema = z.strictObject({
  source: z.literal("private"),
  private_worker_ids: z.array(z.string().check(z.regex(WORKER_ID_PATTERN))).check(z.minLength(1)),
});

export const WorkersSchema = z.discriminatedUnion("source", [CloudWorkersSchema, PrivateWorkersSchema]);

/**
 * autoscaling: the worker count (one machine per replica) tracks load within
 * [min_workers, max_workers]. Cloud workers need `max_hourly_cost_usd`; the effective cost ceiling
 * is the lower of the top-level and the pool's value, the effective worker ceiling the lower of
 * `max_workers` and `cloud_pool.max_instances`.
 */
export const AutoscalingConfigSchema = z.strictObject({
  min_workers: z._default(z.number().check(z.int(), z.gte(0), z.lte(100)), 0),
  max_workers: z.number().check(z.int(), z.gte(1), z.lte(100)),
  max_hourly_cost_usd: z.optional(z.number().check(z.positive())),
  workers: WorkersSchema,
  /** Tuning knobs (defaults and reasoning in autoscale/index.ts and the reference page). */
  target_concurrency_per_worker: z.optional(z.number().check(z.positive(), z.lte(10_000))),
  target_requests_per_minute_per_worker: z.optional(z.number().check(z.positive(), z.lte(1_000_000))),
  headroom: z.optional(z.number().check(z.gte(0), z.lte(10))),
  demand_window_seconds: z.optional(z.number().check(z.int(), z.gte(0), z.lte(86_400))),
  scale_down_stabilization_seconds: z.optional(z.number().check(z.int(), z.gte(0), z.lte(86_400))),
  scale_to_zero_after_seconds: z.optional(z.number().check(z.int(), z.gte(0), z.lte(604_800))),
});

export const POLICY_CONFIG_SCHEMAS = {
  fixed: FixedConfigSchema,
  scheduled: ScheduledConfigSchema,
  autoscaling: AutoscalingConfigSchema,
} as const;

/** What a client sends. Optional fields may be omitted or null (null equals omitted). */
export const WorkloadSpecInputSchema = z.strictObject({
  name: z.string().check(z.trim(), z.minLength(1), z.maxLength(120)),
  slug: z.string().check(z.regex(SLUG_PATTERN)),
  model: z.string().check(z.minLength(1), z.maxLength(300), z.regex(MODEL_PATTERN)),
  backend: BackendSchema,
  task_type: z.optional(TaskTypeSchema),
  command: z.optional(z.string().check(z.trim(), z.minLength(1), z.maxLength(4096))),
  vllm_version: z.optional(z.string().check(z.maxLength(MAX_VLLM_VERSION_LENGTH, { abort: true }), z.regex(VLLM_VERSION_PATTERN))),
  worker_id: z.optional(z.string().check(z.regex(WORKER_ID_PATTERN))),
  execution_policy: z.optional(ExecutionPolicySchema),
  execution_policy_config: z.optional(z.record(z.string(), z.unknown())),
  /** Async task types only (reranker, classification, reward): queue and retention limits of their jobs. */
  jobs: z.optional(JobsConfigSchema),
});

export type WorkloadSpecInput = z.input<typeof WorkloadSpecInputSchema>;
export type FixedConfig = z.output<typeof FixedConfigSchema>;
export type ScheduledConfig = z.output<typeof ScheduledConfigSchema>;
export type AutoscalingConfig = z.output<typeof AutoscalingConfigSchema>;
export type CloudPool = z.output<typeof CloudPoolSchema>;
export type FixedConfigInput = z.input<typeof FixedConfigSchema>;
export type ScheduledConfigInput = z.input<typeof ScheduledConfigSchema>;
export type AutoscalingConfigInput = z.input<typeof AutoscalingConfigSchema>;
export type ExecutionPolicyConfigInput = FixedConfigInput | ScheduledConfigInput | AutoscalingConfigInput;

interface SpecCommon {
  name: string;
  slug: string;
  model: string;
  backend: z.output<typeof BackendSchema>;
  task_type: z.output<typeof TaskTypeSchema>;
  command: string;
  vllm_version?: string;
  worker_id?: string;
  jobs?: JobsConfig;
}

/** The normalised spec: every default filled in. Stored, diffed and returned by the API. */
export type WorkloadSpec = SpecCommon &
  (
    | { execution_policy: "fixed"; execution_policy_config: FixedConfig }
    | { execution_policy: "scheduled"; execution_policy_config: ScheduledConfig }
    | { execution_policy: "autoscaling"; execution_policy_config: AutoscalingConfig }
  );

export const WORKLOAD_SPEC_FIELDS = Object.keys(WorkloadSpecInputSchema.shape);
