/**
 * `@inferencekey/sdk`: the TypeScript SDK of InferenceKey. The management half
 * (`ManagementClient`: workloads, data keys, private workers, usage) and the data half
 * (`DataClient`: a workload's endpoint with `generateText`, `streamText`, `chat`, `embed`, `rerank`,
 * async jobs with `submitJob`/`getJob`/`waitForJob`/`cancelJob`/`listJobs`, and `classify`/`reward`).
 */
export {
  ManagementClient,
  type EnsureOptions,
  type FromEnvOptions,
  type ListOptions,
  type ManagementClientOptions,
} from "./management-client";
export { DataClient, type DataClientFromEnvOptions, type DataClientOptions } from "./data-client";
export {
  Endpoint,
  EndpointJobs,
  type ClassifyOptions,
  type GetJobOptions,
  type JobRerankOptions,
  type ListJobsOptions,
  type RerankOptions,
  type RewardOptions,
  type RunJobOptions,
  type SubmitJobOptions,
  type WaitForJobOptions,
  type ChatOptions,
  type DataCallOptions,
  type EmbedOptions,
  type EndpointOptions,
  type GenerateTextOptions,
  type SamplingOptions,
  type StreamChatOptions,
  type StreamTextOptions,
} from "./data/endpoint";
export { TextStream } from "./data/text-stream";
export type {
  ChatCompletion,
  ChatCompletionWire,
  ChatContentPart,
  ChatMessage,
  Embeddings,
  EmbeddingsWire,
  FinishReason,
  TextGeneration,
  TokenUsage,
  UsageWire,
} from "./data/results";
export {
  isTerminalJobStatus,
  type ClassificationItem,
  type ClassificationResult,
  type Job,
  type JobHistoryEntry,
  type JobResult,
  type JobStatus,
  type JobWebhook,
  type Rerank,
  type RerankItem,
  type RerankResult,
  type RewardItem,
  type RewardResult,
} from "./data/jobs";
export type { ReadinessEvent, ReadinessPhase, WaitUntilReadyOptions } from "./resources/readiness";
export type { UsageOptions, UsageSummary, WorkloadUsage } from "./resources/usage";
export { Backend, ExecutionPolicy, OnDrift, TaskType } from "./enums";
export type {
  AutoscalingPolicyConfig,
  EnsureSpec,
  ExecutionPolicyConfig,
  FixedPolicyConfig,
  NormalizedWorkloadSpec,
  OpenLiteral,
  ScheduledPolicyConfig,
  WorkloadSpec,
} from "./spec";
export type {
  DeletedWorkload,
  EnsurePreview,
  EnsureRef,
  GpuCatalogEntry,
  Page,
  WorkloadEvent,
  ReplicaStatus,
  Workload,
  WorkloadStatus,
} from "./resources/workloads";
export {
  KeysResource,
  type CreatedKey,
  type CreateKeyOptions,
  type DataKey,
  type RotatedKey,
  type RotateKeyOptions,
} from "./resources/keys";
export {
  WorkersResource,
  type RegisteredWorker,
  type RegisterWorkerOptions,
  type Worker,
  type WorkerRecord,
} from "./resources/workers";
export { type ProjectSecret, SecretsResource } from "./resources/secrets";
export type { CallOptions, FetchLike, IdempotentCallOptions } from "./http/http-client";
export {
  APIConnectionError,
  APITimeoutError,
  AuthenticationError,
  BadRequestError,
  ConfigurationError,
  ConflictError,
  DriftError,
  InferenceKeyError,
  IdempotencyKeyReusedError,
  InternalServerError,
  JobFailedError,
  JobNotCancellableError,
  JobNotFoundError,
  NotFoundError,
  PayloadTooLargeError,
  PermissionDeniedError,
  RateLimitError,
  ValidationError,
  WaitTimeoutError,
  WorkloadFailedError,
  WorkloadNotReadyError,
  WorkloadOutsideWindowError,
  WorkloadScalingUpError,
  type ClientErrorCode,
  type ErrorCode,
  type ErrorDetail,
  type InferenceKeyErrorInit,
} from "./errors";
export { DEFAULT_BASE_URL, ENV_VARS } from "./env";
export { SDK_VERSION } from "./version";
