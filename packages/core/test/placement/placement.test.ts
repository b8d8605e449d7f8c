import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import {
  choosePlacement,
  DEFAULT_CATALOG,
  estimateGpuMemory,
  type CatalogData,
  GpuCatalog,
  parameterCountFromName,
  parseServeFlags,
  placementRequirements,
  validateSpec,
} from "../../src";

const vectors = JSON.parse(readFileSync(resolve(import.meta.dirname, "../../../../test/vectors/specs.json"), "utf8")) as {
  vectors: { name: string; ensured: boolean; wire: Record<string, unknown> }[];
};

describe("GPU memory estimate", () => {
  it("reads the serve flags placement needs, in both spellings, ignoring the rest", () => {
    expect(parseServeFlags("vllm serve m --max-model-len 8k --tensor-parallel-size=2 --dtype float16 -q awq --port 1")).toEqual({
      maxModelLen: 8192,
      tensorParallel: 2,
      dtype: "float16",
      quantization: "awq",
    });
    expect(parseServeFlags("vllm serve m --max-model-len")).toEqual({});
    expect(parseServeFlags("vllm serve m --gpu-memory-utilization 0.5 -tp 4")).toEqual({ gpuMemoryUtilization: 0.5, tensorParallel: 4 });
  });

  it("takes the parameter count from the name when the model is not known", () => {
    expect(parameterCountFromName("Qwen/Qwen2.5-72B-Instruct")).toBe(72);
    expect(parameterCountFromName("hexgrad/Kokoro-82M")).toBeCloseTo(0.082);
    expect(parameterCountFromName("mistralai/Mixtral-8x22B-v0.1")).toBe(176);
    expect(parameterCountFromName("org/model-v2")).toBeUndefined();
  });

  it("weights by dtype and quantization, KV cache by --max-model-len, split by --tensor-parallel-size", () => {
    const base = { backend: "vllm" as const, model: "meta-llama/Llama-3.1-8B-Instruct" };
    const short = estimateGpuMemory({ ...base, command: "vllm serve x --max-model-len 8192" });
    const long = estimateGpuMemory({ ...base, command: "vllm serve x" });
    const awq = estimateGpuMemory({ ...base, command: "vllm serve x --max-model-len 8192 --quantization awq" });
    const split = estimateGpuMemory({ ...base, command: "vllm serve x --max-model-len 8192 --tensor-parallel-size 2" });
    // 8.03B x 2 bytes = 15,316 MiB; 8,192 tokens x 128 KiB = 1,024 MiB; + 2,048 MiB runtime.
    expect(short).toMatchObject({ perGpuMib: 18389, gpus: 1, sized: true });
    expect(long.perGpuMib).toBe(18389 + 15 * 1024);
    expect(awq.perGpuMib).toBe(Math.ceil((8.03e9 * 0.5) / 1048576 + 1024 + 2048));
    expect(split).toMatchObject({ gpus: 2, perGpuMib: Math.ceil(((8.03e9 * 2) / 1048576 + 1024) / 2 + 2048) });
    expect(estimateGpuMemory({ backend: "vllm", model: "acme/secret-model", command: "vllm serve acme/secret-model" })).toMatchObject({ sized: false });
  });
});

describe("placement", () => {
  it("each of the guide's cloud specs gets a placement or a Placed=False condition with numbers", () => {
    const cloud = vectors.vectors.filter((v) => v.ensured && v.wire.worker_id === undefined && (v.wire.execution_policy_config as { workers?: { source?: string } } | undefined)?.workers?.source !== "private");
    expect(cloud.map((v) => v.name)).toEqual([
      "text2text provision",
      "text2text autoscaling cloud",
      "text2text scheduled window",
      "embedding provision",
      "embedding fixed",
      "text2image provision",
      "text2image fixed",
      "text2audio autoscaling cloud",
      "text2audio scheduled",
      "audio2text provision",
      "audio2text scheduled",
      "reranker provision",
    ]);
    const outcomes = cloud.map((v) => {
      const choice = choosePlacement(DEFAULT_CATALOG, "us-east-1", placementRequirements(DEFAULT_CATALOG, validateSpec(v.wire)));
      return [v.name, "candidates" in choice ? `${choice.candidates[0]?.instanceType} $${choice.candidates[0]?.replicaUsd}/h` : `${choice.unplaced}: ${choice.message}`];
    });
    // With the recorded prices every guide spec places; the A100 pools take one GPU of a p4de.24xlarge ($27.447 / 8).
    expect(Object.fromEntries(outcomes)).toEqual({
      "text2text provision": "g6.xlarge $0.805/h",
      "text2text autoscaling cloud": "p4de.24xlarge $3.431/h",
      "text2text scheduled window": "g6.xlarge $0.805/h",
      "embedding provision": "g4dn.xlarge $0.526/h",
      "embedding fixed": "g4dn.xlarge $0.526/h",
      "text2image provision": "p4de.24xlarge $3.431/h",
      "text2image fixed": "g6e.xlarge $1.861/h",
      "text2audio autoscaling cloud": "p4de.24xlarge $3.431/h",
      "text2audio scheduled": "g4dn.xlarge $0.526/h",
      "audio2text provision": "p4de.24xlarge $3.431/h",
      "audio2text scheduled": "g4dn.xlarge $0.526/h",
      "reranker provision": "p4de.24xlarge $3.431/h",
    });
  });

  it("the guide's A100 spec at the pre-June-2025 p4de price is Unplaceable, saying the share, the ceiling and the cheapest fit", () => {
    const data = structuredClone(DEFAULT_CATALOG.data) as CatalogData;
    for (const t of data.instance_types) if (t.instance_type === "p4de.24xlarge") t.on_demand_usd_per_hour["us-east-1"] = 40.96576;
    const catalog = new GpuCatalog(data);
    const spec = validateSpec(vectors.vectors.find((v) => v.name === "text2text autoscaling cloud")?.wire);
    const choice = choosePlacement(catalog, "us-east-1", placementRequirements(catalog, spec));
    expect(choice).toEqual({
      unplaced: "Unplaceable",
      message:
        "NVIDIA A100-SXM4-80GB: one GPU of p4de.24xlarge costs $5.121/h ($40.96576/h for 8), above max_hourly_cost_usd 5; " +
        "cheapest that fits: NVIDIA L4: one GPU of g6.xlarge costs $0.805/h ($0.8048/h for 1)",
    });
  });

  it("says why a model fits no GPU of the pool, with the memory numbers", () => {
    const spec = validateSpec({
      name: "big",
      slug: "big",
      model: "meta-llama/Llama-3.1-70B-Instruct",
      backend: "vllm",
      command: "vllm serve meta-llama/Llama-3.1-70B-Instruct --max-model-len 8192",
      execution_policy: "autoscaling",
      execution_policy_config: { max_workers: 1, max_hourly_cost_usd: 100, workers: { source: "cloud", cloud_pool: { gpu_pool: ["NVIDIA L4"] } } },
    });
    const choice = choosePlacement(DEFAULT_CATALOG, "us-east-1", placementRequirements(DEFAULT_CATALOG, spec));
    expect(choice).toMatchObject({ unplaced: "Unplaceable" });
    const message = "message" in choice ? choice.message : "";
    expect(message).toMatch(/^NVIDIA L4 on g6\.xlarge: needs \d+ MiB per GPU \(70\.6B parameters \(known model\) at bfloat16/);
    expect(message).toContain("one NVIDIA L4 offers 20599 MiB (22888 x 0.9); a larger --tensor-parallel-size would split it");
    // H200 types have no recorded price, so the cheapest 80+ GB GPU with a price answers.
    expect(message).toContain("cheapest that fits: NVIDIA B200: one GPU of p6-b200.48xlarge costs $14.242/h ($113.9328/h for 8)");
  });

  it("allowed_cuda_versions excludes GPUs whose driver lacks them", () => {
    const spec = validateSpec({
      name: "c",
      slug: "c",
      model: "BAAI/bge-large-en-v1.5",
      backend: "vllm",
      execution_policy: "autoscaling",
      execution_policy_config: { max_workers: 1, max_hourly_cost_usd: 100, workers: { source: "cloud", cloud_pool: { gpu_pool: ["NVIDIA B200", "NVIDIA T4"], allowed_cuda_versions: ["12.4"] } } },
    });
    const choice = choosePlacement(DEFAULT_CATALOG, "us-east-1", placementRequirements(DEFAULT_CATALOG, spec));
    expect("candidates" in choice && choice.candidates.map((c) => c.gpu)).not.toContain("NVIDIA B200");
    expect("candidates" in choice && choice.candidates[0]).toMatchObject({ instanceType: "g4dn.xlarge", cudaVersions: ["12.4"] });
  });

  it("a stored spec using today's name NVIDIA H100-SXM5-80GB (now an alias) still validates and places on H100s", () => {
    // As stored before the catalog's rename: the alias, verbatim.
    const stored = validateSpec({
      name: "h",
      slug: "h",
      model: "meta-llama/Llama-3.1-8B-Instruct",
      backend: "vllm",
      command: "vllm serve meta-llama/Llama-3.1-8B-Instruct --max-model-len 8192",
      execution_policy: "autoscaling",
      execution_policy_config: { max_workers: 1, max_hourly_cost_usd: 10, workers: { source: "cloud", cloud_pool: { gpu_pool: ["NVIDIA H100-SXM5-80GB"] } } },
    });
    expect(stored.execution_policy === "autoscaling" && stored.execution_policy_config.workers.source === "cloud" && stored.execution_policy_config.workers.cloud_pool.gpu_pool).toEqual([
      "NVIDIA H100-SXM5-80GB",
    ]);
    const choice = choosePlacement(DEFAULT_CATALOG, "us-east-1", placementRequirements(DEFAULT_CATALOG, stored));
    expect("candidates" in choice && choice.candidates[0]).toMatchObject({ gpu: "NVIDIA H100 80GB HBM3", instanceType: "p5.4xlarge", replicaUsd: 6.88 });
  });
});
