import { Backend, type EnsureSpec } from "../../src";

/**
 * Every spec the workloads guide passes to `ensure()` in TypeScript, built the way the guide
 * builds it (including the widened `base` objects). `wrk_7Yc2...` is replaced by a well-formed id
 * so the core validator can check the result.
 */
const WORKER = "wrk_7Yc2abcd";

const cloudPool = (maxInstances: number) => ({
  gpu_pool: ["NVIDIA A100-SXM4-80GB"],
  max_hourly_cost_usd: 5.0,
  max_instances: maxInstances,
});

const supportBase = {
  name: "Support bot",
  slug: "support-bot",
  model: "meta-llama/Llama-3.1-8B-Instruct",
  backend: Backend.Vllm,
  command: "vllm serve meta-llama/Llama-3.1-8B-Instruct --max-model-len 8192",
};

const billingBase = {
  name: "Billing embeddings",
  slug: "billing",
  model: "BAAI/bge-large-en-v1.5",
  backend: Backend.Vllm,
  taskType: "embedding",
  command: "vllm serve BAAI/bge-large-en-v1.5 --task embed",
};

const posterBase = {
  name: "Poster maker",
  slug: "poster-maker",
  model: "stabilityai/stable-diffusion-3.5-large",
  backend: Backend.VllmOmni,
  taskType: "text2image",
  command: "vllm-omni serve stabilityai/stable-diffusion-3.5-large",
};

const voiceBase = {
  name: "Voice over",
  slug: "voice-over",
  model: "hexgrad/Kokoro-82M",
  backend: Backend.VllmOmni,
  taskType: "text2audio",
  command: "vllm-omni serve hexgrad/Kokoro-82M",
};

const transcriberBase = {
  name: "Transcriber",
  slug: "transcriber",
  model: "openai/whisper-large-v3",
  backend: Backend.VllmOmni,
  taskType: "audio2text",
  command: "vllm-omni serve openai/whisper-large-v3",
};

export const GUIDE_SPECS: Record<string, EnsureSpec> = {
  "cloud minimal": { name: "Bot", slug: "bot", model: "org/model", backend: Backend.Vllm },
  "private minimal": {
    name: "Bot",
    slug: "bot",
    model: "org/model",
    backend: Backend.Vllm,
    workerId: WORKER,
  },
  "text2text provision": {
    name: "Support bot",
    slug: "support-bot",
    model: "meta-llama/Llama-3.1-8B-Instruct",
    backend: Backend.Vllm,
    taskType: "text2text",
    command: "vllm serve meta-llama/Llama-3.1-8B-Instruct --max-model-len 8192",
    executionPolicy: "fixed",
    executionPolicyConfig: { replicas: 1 },
  },
  "text2text autoscaling cloud": {
    ...supportBase,
    executionPolicy: "autoscaling",
    executionPolicyConfig: {
      min_workers: 0,
      max_workers: 5,
      max_hourly_cost_usd: 5.0,
      workers: { source: "cloud", cloud_pool: { ...cloudPool(5), allowed_cuda_versions: ["13.0"] } },
    },
  },
  "text2text scheduled window": {
    ...supportBase,
    executionPolicy: "scheduled",
    executionPolicyConfig: { window: "Mon-Fri 08:00-20:00 Europe/Madrid" },
  },
  "text2text private fixed": {
    ...supportBase,
    workerId: WORKER,
    executionPolicy: "fixed",
    executionPolicyConfig: { replicas: 2 },
  },
  "embedding provision": {
    name: "Billing embeddings",
    slug: "billing",
    model: "BAAI/bge-large-en-v1.5",
    backend: Backend.Vllm,
    taskType: "embedding",
    command: "vllm serve BAAI/bge-large-en-v1.5 --task embed",
    executionPolicy: "scheduled",
    executionPolicyConfig: { cron: "0 2 * * *" },
  },
  "embedding fixed": { ...billingBase, executionPolicy: "fixed", executionPolicyConfig: { replicas: 1 } },
  "embedding autoscaling private": {
    ...billingBase,
    workerId: WORKER,
    executionPolicy: "autoscaling",
    executionPolicyConfig: {
      min_workers: 1,
      max_workers: 4,
      workers: { source: "private", private_worker_ids: [WORKER] },
    },
  },
  "text2image provision": {
    name: "Poster maker",
    slug: "poster-maker",
    model: "stabilityai/stable-diffusion-3.5-large",
    backend: Backend.VllmOmni,
    taskType: "text2image",
    command: "vllm-omni serve stabilityai/stable-diffusion-3.5-large",
    vllmVersion: "0.6.3",
    executionPolicy: "autoscaling",
    executionPolicyConfig: {
      min_workers: 0,
      max_workers: 3,
      max_hourly_cost_usd: 5.0,
      workers: { source: "cloud", cloud_pool: cloudPool(3) },
    },
  },
  "text2image fixed": { ...posterBase, executionPolicy: "fixed", executionPolicyConfig: { replicas: 1 } },
  "text2image scheduled private": {
    ...posterBase,
    workerId: WORKER,
    executionPolicy: "scheduled",
    executionPolicyConfig: { cron: "0 1 * * *" },
  },
  "text2audio provision": {
    ...voiceBase,
    workerId: WORKER,
    executionPolicy: "fixed",
    executionPolicyConfig: { replicas: 1 },
  },
  "text2audio autoscaling cloud": {
    ...voiceBase,
    executionPolicy: "autoscaling",
    executionPolicyConfig: {
      min_workers: 0,
      max_workers: 4,
      max_hourly_cost_usd: 5.0,
      workers: { source: "cloud", cloud_pool: cloudPool(4) },
    },
  },
  "text2audio scheduled": {
    ...voiceBase,
    executionPolicy: "scheduled",
    executionPolicyConfig: { cron: "0 6 * * *" },
  },
  "audio2text provision": {
    ...transcriberBase,
    executionPolicy: "autoscaling",
    executionPolicyConfig: {
      min_workers: 0,
      max_workers: 6,
      max_hourly_cost_usd: 5.0,
      workers: { source: "cloud", cloud_pool: cloudPool(6) },
    },
  },
  "audio2text private fixed": {
    ...transcriberBase,
    workerId: WORKER,
    executionPolicy: "fixed",
    executionPolicyConfig: { replicas: 1 },
  },
  "audio2text scheduled": {
    ...transcriberBase,
    executionPolicy: "scheduled",
    executionPolicyConfig: { cron: "0 0 * * *" },
  },
  "reranker provision": {
    name: "Search reranker",
    slug: "search-reranker",
    model: "BAAI/bge-reranker-v2-m3",
    backend: Backend.Vllm,
    taskType: "reranker",
    command: "vllm serve BAAI/bge-reranker-v2-m3 --task score",
    executionPolicy: "autoscaling",
    executionPolicyConfig: {
      min_workers: 0,
      max_workers: 3,
      max_hourly_cost_usd: 5.0,
      workers: { source: "cloud", cloud_pool: cloudPool(3) },
    },
  },
};

export const GUIDE_WORKER_ID = WORKER;
