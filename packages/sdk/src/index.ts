/**
 * `@inferencekey/sdk`: the TypeScript SDK of InferenceKey. The management half
 * (`ManagementClient`: workloads, data keys, private workers, usage) and the data half
 * (`DataClient`: a workload's endpoint with `generateText`, `streamText`, `chat`, `embed`).
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
  InternalServerError,
  NotFoundError,
  PermissionDeniedError,
  RateLimitError,
  ValidationError,
  WorkloadFailedError,
  WorkloadOutsideWindowError,
  WorkloadScalingUpError,
  type ClientErrorCode,
  type ErrorCode,
  type ErrorDetail,
  type InferenceKeyErrorInit,
} from "./errors";
export { DEFAULT_BASE_URL, ENV_VARS } from "./env";
export { SDK_VERSION } from "./version";
