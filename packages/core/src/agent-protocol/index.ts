import * as z from "zod/mini";
import "../zod";
import { BackendSchema, TaskTypeSchema } from "../spec/schema";

/**
 * The agent protocol: one call, `POST /agent/v1/heartbeat` with `Authorization: Bearer ik_wrk_...`.
 * The agent reports its box and the state of every replica it runs; the answer is the full set of
 * replicas it must run (its assignment). Level-triggered on both sides: a lost heartbeat or answer
 * is repaired by the next one.
 */

export const GpuSchema = z.object({
  index: z.number().check(z.int(), z.gte(0)),
  name: z.string(),
  memory_mb: z.number().check(z.int(), z.gte(0)),
  /** Highest CUDA version the driver supports, e.g. "12.4". */
  cuda_version: z.optional(z.string()),
  uuid: z.optional(z.string()),
});
export type Gpu = z.infer<typeof GpuSchema>;

export const HostInfoSchema = z.object({
  hostname: z.string().check(z.minLength(1), z.maxLength(255)),
  /** Address the platform (gateway) reaches this box's replicas on. */
  advertise_host: z.string().check(z.minLength(1), z.maxLength(255)),
  gpus: z.array(GpuSchema),
  cpu_count: z.optional(z.number().check(z.int(), z.gte(0))),
  memory_mb: z.optional(z.number().check(z.int(), z.gte(0))),
  agent_version: z.optional(z.string()),
  /**
   * SHA-256 of the DER certificate of the agent's replica front (64 lowercase hex characters). When
   * present, replicas of this worker are reached over TLS and the gateway accepts only this exact
   * certificate; absent (an agent without a front), they are reached over plain HTTP.
   */
  front_certificate_sha256: z.optional(z.string().check(z.regex(/^[0-9a-f]{64}$/))),
});
export type HostInfo = z.infer<typeof HostInfoSchema>;

export const REPLICA_STATES = ["starting", "ready", "failed", "stopping", "stopped"] as const;
export type ReplicaRuntimeState = (typeof REPLICA_STATES)[number];

export const ReplicaLoadSchema = z.object({
  running_requests: z.number().check(z.gte(0)),
  waiting_requests: z.number().check(z.gte(0)),
  kv_cache_usage: z.optional(z.number().check(z.gte(0), z.lte(1))),
  scraped_at: z.string(),
  /**
   * The highest running + waiting the agent sampled (1 Hz or more) over the last `peak_window_seconds`:
   * a burst between two heartbeats (or two controller ticks) still shows. Absent from older agents.
   */
  peak_requests: z.optional(z.number().check(z.gte(0))),
  peak_window_seconds: z.optional(z.number().check(z.gte(0), z.lte(3600))),
});
export type ReplicaLoad = z.infer<typeof ReplicaLoadSchema>;

export const ReplicaReportSchema = z.object({
  replica_id: z.string().check(z.minLength(1)),
  state: z.enum(REPLICA_STATES),
  /** Why, in words a person can act on ("exited with code 127: command not found"). */
  reason: z.optional(z.string().check(z.maxLength(2000))),
  pid: z.optional(z.number().check(z.int())),
  port: z.number().check(z.int(), z.gte(1), z.lte(65535)),
  restarts: z._default(z.number().check(z.int(), z.gte(0)), 0),
  exit_code: z.optional(z.nullable(z.number().check(z.int()))),
  /** The last lines the backend wrote to stderr, when it failed. */
  stderr_tail: z.optional(z.array(z.string().check(z.maxLength(2000))).check(z.maxLength(50))),
  load: z.optional(ReplicaLoadSchema),
  /**
   * The agent could not bind `port` (another program holds it), so it did not start the backend:
   * the platform claims another port for the replica and answers it in the next assignment.
   */
  port_unavailable: z.optional(z.boolean()),
});
export type ReplicaReport = z.infer<typeof ReplicaReportSchema>;

export const HeartbeatRequestSchema = z.object({
  host: HostInfoSchema,
  replicas: z.array(ReplicaReportSchema).check(z.maxLength(2048)),
});
export type HeartbeatRequest = z.input<typeof HeartbeatRequestSchema>;

export const AssignmentSchema = z.object({
  replica_id: z.string(),
  project: z.string(),
  workload: z.string(),
  slot: z.number().check(z.int(), z.gte(0)),
  /** The workload's runtime generation this replica runs. */
  generation: z.number().check(z.int(), z.gte(1)),
  backend: BackendSchema,
  task_type: TaskTypeSchema,
  model: z.string(),
  command: z.string(),
  vllm_version: z.optional(z.string()),
  port: z.number().check(z.int(), z.gte(1), z.lte(65535)),
  /** Address to bind (the agent also sets HOST and substitutes {host}). */
  host: z.string(),
  /** The replica secret: the backend must refuse requests without it (vllm/sglang `--api-key`). */
  secret: z.string(),
  /** GPU indexes to expose via CUDA_VISIBLE_DEVICES; empty on CPU-only boxes. */
  gpu_indexes: z.array(z.number().check(z.int(), z.gte(0))),
  /** `running`: keep it up. `stopped`: stop it gracefully (and report `stopped`). */
  desired: z.enum(["running", "stopped"]),
  /**
   * The project's secrets (`PUT /v1/projects/{project}/secrets/{NAME}`), set in the backend's
   * environment after the agent's own variables. Values: never logged, redacted from output.
   */
  env: z.optional(z.record(z.string(), z.string())),
});
export type Assignment = z.infer<typeof AssignmentSchema>;

export const HeartbeatResponseSchema = z.object({
  worker_id: z.string(),
  project: z.string(),
  assignments: z.array(AssignmentSchema),
  heartbeat_interval_seconds: z.number().check(z.positive()),
});
export type HeartbeatResponse = z.infer<typeof HeartbeatResponseSchema>;

/**
 * `POST /agent/v1/register` with `Authorization: Bearer <launch token>`: the agent on a node the
 * platform launched spends its one-time launch token (from the user data) for the instance id
 * IMDSv2 gives it, and gets the node's agent token. The token is spent by the call, so the agent
 * keeps the answer.
 */
export const RegisterRequestSchema = z.strictObject({
  node_id: z.string().check(z.minLength(1), z.maxLength(64)),
  instance_id: z.string().check(z.minLength(1), z.maxLength(40)),
});
export type RegisterRequest = z.infer<typeof RegisterRequestSchema>;

export const RegisterResponseSchema = z.object({
  node_id: z.string(),
  /** `ik_wrk_...`-shaped: authenticates `GET /agent/v1/nodes/{node_id}/workers` and nothing else. */
  node_token: z.string(),
});
export type RegisterResponse = z.infer<typeof RegisterResponseSchema>;

/**
 * `GET /agent/v1/nodes/{node_id}/workers` with the node token: the platform's workers on the node
 * (one per project whose replicas it holds), each heartbeating with its own worker token.
 */
export const NodeWorkersResponseSchema = z.object({
  node_id: z.string(),
  state: z.enum(["launching", "running", "ready", "terminating"]),
  workers: z.array(z.object({ project: z.string(), worker_id: z.string(), worker_token: z.string() })),
});
export type NodeWorkersResponse = z.infer<typeof NodeWorkersResponseSchema>;

/** Heartbeats expected every 5 s; a worker is offline after 3 missed ones. */
export const HEARTBEAT_INTERVAL_SECONDS = 5;
export const WORKER_OFFLINE_AFTER_SECONDS = 15;
/**
 * Replicas of a silent worker are replaced only after this long: a network blip or a control-plane
 * restart must not tear down healthy backends (they keep serving while the agent reconnects).
 */
export const WORKER_LOST_AFTER_SECONDS = 120;
