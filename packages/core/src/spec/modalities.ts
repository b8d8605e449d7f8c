import { poolingFlags } from "./pooling";
/**
 * Backends, modalities (task_type) and the routes each modality serves. One table, read by
 * validation (which backend may serve which task_type), by the gateway (which routes a workload
 * answers) and by the reference docs.
 */
export const BACKENDS = ["vllm", "sglang", "ollama", "vllm-omni"] as const;
export type BackendName = (typeof BACKENDS)[number];

export const TASK_TYPES = [
  "text2text",
  "embedding",
  "text2image",
  "text2audio",
  "audio2text",
  "reranker",
  "classification",
  "reward",
  "image2text",
  "image2image",
  "text2video",
  "image2video",
] as const;
export type TaskTypeName = (typeof TASK_TYPES)[number];

export const EXECUTION_POLICIES = ["fixed", "scheduled", "autoscaling"] as const;
export type ExecutionPolicyName = (typeof EXECUTION_POLICIES)[number];

export const ON_DRIFT = ["reconcile", "fail", "ignore"] as const;
export type OnDriftName = (typeof ON_DRIFT)[number];

export interface Modality {
  taskType: TaskTypeName;
  description: string;
  /** `sync`: OpenAI-compatible routes under /v1. `async`: only through the async jobs API (`/v1/jobs`, docs/jobs.md). */
  mode: "sync" | "async";
  /** Routes under `/endpoint/{project}/{workload}/v1/` (besides `models`, which every sync modality has). */
  routes: readonly string[];
  backends: readonly BackendName[];
}

const TEXT_BACKENDS = ["vllm", "sglang", "ollama"] as const;
const OMNI = ["vllm-omni"] as const;
const POOLING_BACKENDS = ["vllm", "sglang"] as const;

export const MODALITIES: Readonly<Record<TaskTypeName, Modality>> = {
  text2text: {
    taskType: "text2text",
    description: "Chat and text completion",
    mode: "sync",
    routes: ["chat/completions", "completions"],
    backends: TEXT_BACKENDS,
  },
  embedding: {
    taskType: "embedding",
    description: "Text embeddings",
    mode: "sync",
    routes: ["embeddings"],
    backends: TEXT_BACKENDS,
  },
  text2image: {
    taskType: "text2image",
    description: "Image generation from a prompt",
    mode: "sync",
    routes: ["images/generations"],
    backends: OMNI,
  },
  text2audio: {
    taskType: "text2audio",
    description: "Text-to-speech",
    mode: "sync",
    routes: ["audio/speech"],
    backends: OMNI,
  },
  audio2text: {
    taskType: "audio2text",
    description: "Speech-to-text (multipart upload)",
    mode: "sync",
    routes: ["audio/transcriptions"],
    backends: OMNI,
  },
  image2text: {
    taskType: "image2text",
    description: "Vision-language chat: images in the chat messages, text out",
    mode: "sync",
    routes: ["chat/completions"],
    backends: OMNI,
  },
  image2image: {
    taskType: "image2image",
    description: "Image editing (multipart upload)",
    mode: "sync",
    routes: ["images/edits"],
    backends: OMNI,
  },
  text2video: {
    taskType: "text2video",
    description: "Video generation from a prompt; not served yet (refused at ensure)",
    mode: "async",
    routes: [],
    backends: OMNI,
  },
  image2video: {
    taskType: "image2video",
    description: "Video generation from an image; not served yet (refused at ensure)",
    mode: "async",
    routes: [],
    backends: OMNI,
  },
  reranker: {
    taskType: "reranker",
    description: "Relevance scores of documents for a query",
    mode: "async",
    routes: [],
    backends: POOLING_BACKENDS,
  },
  classification: {
    taskType: "classification",
    description: "Class probabilities for inputs",
    mode: "async",
    routes: [],
    backends: POOLING_BACKENDS,
  },
  reward: {
    taskType: "reward",
    description: "Reward-model scores for conversations",
    mode: "async",
    routes: [],
    backends: POOLING_BACKENDS,
  },
};

/** Backends that take `vllm_version` (the guide: "For vllm/vllm-omni, the backend config is { command, vllm_version? }"). */
export const VLLM_VERSIONED_BACKENDS: readonly BackendName[] = ["vllm", "vllm-omni"];

const SHELL_SAFE_WORD = /^[A-Za-z0-9_@%+=:,./-]+$/;

/** One shell word holding exactly `word`: single-quoted unless it is made of characters the shell never interprets. */
export function shellQuote(word: string): string {
  return SHELL_SAFE_WORD.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}

/**
 * The command run when a spec gives none: the backend's standard way to serve the model (pooling task
 * types start it as a pooling model, see pooling.ts). The model
 * is quoted even though `model` admits only model-name characters: no value reaches a shell unquoted.
 */
export function defaultCommand(backend: BackendName, model: string, taskType: TaskTypeName = "text2text", vllmVersion?: string): string {
  switch (backend) {
    case "vllm":
      return `vllm serve ${shellQuote(model)}${poolingFlags(backend, taskType, vllmVersion)}`;
    case "sglang":
      return `python -m sglang.launch_server --model-path ${shellQuote(model)}${poolingFlags(backend, taskType)}`;
    case "ollama":
      return "ollama serve";
    case "vllm-omni":
      return `vllm-omni serve ${shellQuote(model)}`;
  }
}
