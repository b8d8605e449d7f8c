import type { WorkloadSpec } from "../spec/schema";

/**
 * How much GPU memory one replica of a workload needs, estimated from its model and serve flags:
 * weights (parameters x bytes per parameter for the dtype or quantization), the KV cache for one
 * sequence of `--max-model-len` tokens (vLLM refuses to start without room for one), and a fixed
 * allowance for activations, CUDA graphs and the runtime. Split over `--tensor-parallel-size` x
 * `--pipeline-parallel-size` GPUs.
 */

/** A model whose shape is known; parameter counts in billions. */
export interface KnownModel {
  parametersB: number;
  /** Decoder shape for the KV cache: layers, KV heads, head dimension. Absent: no KV cache worth counting. */
  kv?: { layers: number; kvHeads: number; headDim: number };
  /** Context length served when `--max-model-len` is not given. */
  defaultMaxLen?: number;
  /** Activations beyond the default allowance (diffusion at 1024 px), MiB. */
  extraMib?: number;
}

/** The guide's models and common ones; keys compared case-insensitively. */
export const KNOWN_MODELS: Readonly<Record<string, KnownModel>> = {
  "meta-llama/llama-3.1-8b-instruct": { parametersB: 8.03, kv: { layers: 32, kvHeads: 8, headDim: 128 }, defaultMaxLen: 131_072 },
  "meta-llama/llama-3.1-8b": { parametersB: 8.03, kv: { layers: 32, kvHeads: 8, headDim: 128 }, defaultMaxLen: 131_072 },
  "meta-llama/llama-3.1-70b-instruct": { parametersB: 70.6, kv: { layers: 80, kvHeads: 8, headDim: 128 }, defaultMaxLen: 131_072 },
  "meta-llama/llama-3.3-70b-instruct": { parametersB: 70.6, kv: { layers: 80, kvHeads: 8, headDim: 128 }, defaultMaxLen: 131_072 },
  "meta-llama/llama-3.2-1b-instruct": { parametersB: 1.24, kv: { layers: 16, kvHeads: 8, headDim: 64 }, defaultMaxLen: 131_072 },
  "meta-llama/llama-3.2-3b-instruct": { parametersB: 3.21, kv: { layers: 28, kvHeads: 8, headDim: 128 }, defaultMaxLen: 131_072 },
  "qwen/qwen2.5-7b-instruct": { parametersB: 7.62, kv: { layers: 28, kvHeads: 4, headDim: 128 }, defaultMaxLen: 32_768 },
  "mistralai/mistral-7b-instruct-v0.3": { parametersB: 7.25, kv: { layers: 32, kvHeads: 8, headDim: 128 }, defaultMaxLen: 32_768 },
  "mistralai/mixtral-8x7b-instruct-v0.1": { parametersB: 46.7, kv: { layers: 32, kvHeads: 8, headDim: 128 }, defaultMaxLen: 32_768 },
  "baai/bge-large-en-v1.5": { parametersB: 0.335 },
  "baai/bge-reranker-v2-m3": { parametersB: 0.568 },
  "openai/whisper-large-v3": { parametersB: 1.55 },
  "hexgrad/kokoro-82m": { parametersB: 0.082 },
  // MMDiT (8.1B) plus its CLIP-L, CLIP-G and T5-XXL text encoders.
  "stabilityai/stable-diffusion-3.5-large": { parametersB: 13.7, extraMib: 4096 },
};

/** Activations, CUDA graphs and the runtime's own use per GPU, MiB (vLLM's profile run lands near this for 7-8B models). */
export const RUNTIME_ALLOWANCE_MIB = 2048;
/** vLLM's default `--gpu-memory-utilization`: the share of a GPU it takes. */
export const DEFAULT_GPU_MEMORY_UTILIZATION = 0.9;

export interface ServeFlags {
  dtype?: string;
  quantization?: string;
  kvCacheDtype?: string;
  tensorParallel?: number;
  pipelineParallel?: number;
  maxModelLen?: number;
  gpuMemoryUtilization?: number;
}

const FLAG_NAMES: Record<string, keyof ServeFlags> = {
  "--dtype": "dtype",
  "--quantization": "quantization",
  "-q": "quantization",
  "--kv-cache-dtype": "kvCacheDtype",
  "--tensor-parallel-size": "tensorParallel",
  "-tp": "tensorParallel",
  "--pipeline-parallel-size": "pipelineParallel",
  "-pp": "pipelineParallel",
  "--max-model-len": "maxModelLen",
  "--gpu-memory-utilization": "gpuMemoryUtilization",
};

/** The serve flags placement reads, from a command (`--flag value` or `--flag=value`); others ignored. */
export function parseServeFlags(command: string): ServeFlags {
  const flags: ServeFlags = {};
  const words = command.split(/\s+/).filter((w) => w.length > 0);
  for (let i = 0; i < words.length; i++) {
    const word = words[i] ?? "";
    const eq = word.indexOf("=");
    const name = eq > 0 ? word.slice(0, eq) : word;
    const key = FLAG_NAMES[name];
    if (key === undefined) continue;
    const value = eq > 0 ? word.slice(eq + 1) : words[++i];
    if (value === undefined) continue;
    if (key === "dtype" || key === "quantization" || key === "kvCacheDtype") {
      flags[key] = value.toLowerCase();
    } else if (key === "gpuMemoryUtilization") {
      const n = Number(value);
      if (n > 0 && n <= 1) flags.gpuMemoryUtilization = n;
    } else {
      const n = parseMaxLen(value);
      if (n !== undefined && n >= 1) flags[key] = n;
    }
  }
  return flags;
}

/** `8192`, `8k` (vLLM accepts both). */
function parseMaxLen(value: string): number | undefined {
  const match = /^(\d{1,9})([kK]?)$/.exec(value);
  if (!match) return undefined;
  return Number(match[1]) * (match[2] ? 1024 : 1);
}

/** Parameters in billions from a name such as `Qwen2.5-72B-Instruct`, `Kokoro-82M` or `mixtral-8x7b`. */
export function parameterCountFromName(model: string): number | undefined {
  const name = model.toLowerCase();
  const experts = /(?:^|[^a-z0-9.])(\d{1,3})x(\d{1,4}(?:\.\d{1,3})?)b(?![a-z])/.exec(name);
  if (experts) return Number(experts[1]) * Number(experts[2]);
  let best: number | undefined;
  for (const match of name.matchAll(/(?:^|[^a-z0-9.])(\d{1,4}(?:\.\d{1,3})?)([bm])(?![a-z])/g)) {
    const value = Number(match[1]) / (match[2] === "m" ? 1000 : 1);
    best = best === undefined ? value : Math.max(best, value);
  }
  return best;
}

/** Bytes per parameter for a quantization method or dtype. */
function bytesPerParameter(flags: ServeFlags, model: string): { bytes: number; why: string } {
  const q = flags.quantization ?? (/(?:^|[-_/])(awq|gptq|int4|4bit|fp8|int8|8bit)(?:[-_]|$)/i.exec(model)?.[1]?.toLowerCase() ?? undefined);
  if (q !== undefined) {
    if (/awq|gptq|int4|4bit|bitsandbytes|gguf|marlin/.test(q)) return { bytes: 0.5, why: `${q} (4-bit)` };
    if (/fp8|int8|8bit|modelopt|compressed/.test(q)) return { bytes: 1, why: `${q} (8-bit)` };
  }
  if (flags.dtype === "float32" || flags.dtype === "float") return { bytes: 4, why: "float32" };
  return { bytes: 2, why: flags.dtype && flags.dtype !== "auto" ? flags.dtype : "bfloat16" };
}

export interface MemoryEstimate {
  /** Per GPU, MiB, including the runtime allowance. */
  perGpuMib: number;
  /** GPUs one replica takes: tensor x pipeline parallel size (1 unless the command says more). */
  gpus: number;
  /** The share of each GPU the backend may take (`--gpu-memory-utilization`, default 0.9). */
  utilization: number;
  /** False when neither the known-models table nor the name gave a size: any GPU is assumed to fit. */
  sized: boolean;
  /** How the numbers were reached, for conditions and events. */
  basis: string;
}

const MIB = 1024 * 1024;

export function estimateGpuMemory(spec: Pick<WorkloadSpec, "model" | "command" | "backend">): MemoryEstimate {
  const flags = parseServeFlags(spec.command);
  const gpus = (flags.tensorParallel ?? 1) * (flags.pipelineParallel ?? 1);
  const utilization = flags.gpuMemoryUtilization ?? DEFAULT_GPU_MEMORY_UTILIZATION;
  const known = KNOWN_MODELS[spec.model.toLowerCase()];
  const parametersB = known?.parametersB ?? parameterCountFromName(spec.model);
  if (parametersB === undefined) {
    return { perGpuMib: RUNTIME_ALLOWANCE_MIB, gpus, utilization, sized: false, basis: `size of ${spec.model} unknown (not in the known-models table, no parameter count in its name)` };
  }
  const precision = bytesPerParameter(flags, spec.model);
  const weightsMib = (parametersB * 1e9 * precision.bytes) / MIB;
  let kvMib = 0;
  let kvWhy = "";
  if (known?.kv !== undefined) {
    const maxLen = flags.maxModelLen ?? known.defaultMaxLen ?? 4096;
    const kvBytes = flags.kvCacheDtype?.startsWith("fp8") ? 1 : 2;
    kvMib = (2 * known.kv.layers * known.kv.kvHeads * known.kv.headDim * kvBytes * maxLen) / MIB;
    kvWhy = ` + KV cache ${Math.round(kvMib)} MiB for ${maxLen} tokens`;
  }
  const totalMib = weightsMib + kvMib;
  const perGpuMib = Math.ceil(totalMib / gpus + RUNTIME_ALLOWANCE_MIB + (known?.extraMib ?? 0));
  return {
    perGpuMib,
    gpus,
    utilization,
    sized: true,
    basis:
      `${parametersB}B parameters (${known ? "known model" : "from the name"}) at ${precision.why}: weights ${Math.round(weightsMib)} MiB${kvWhy}` +
      `${gpus > 1 ? `, over ${gpus} GPUs` : ""}; ${perGpuMib} MiB per GPU with the runtime allowance`,
  };
}
