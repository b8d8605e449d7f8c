import { type GpuCatalog, roundUsd } from "../catalog";
import type { WorkloadSpec } from "../spec/schema";
import { estimateGpuMemory, type MemoryEstimate } from "./estimate";

export {
  DEFAULT_GPU_MEMORY_UTILIZATION,
  estimateGpuMemory,
  KNOWN_MODELS,
  type KnownModel,
  type MemoryEstimate,
  parameterCountFromName,
  parseServeFlags,
  RUNTIME_ALLOWANCE_MIB,
  type ServeFlags,
} from "./estimate";

/** Why a workload has no place, as its `Placed=False` condition's reason. */
export type UnplacedReason = "Unplaceable" | "QuotaExceeded" | "InsufficientCapacity";

/** One way to run a replica: some whole GPUs of one instance type. */
export interface PlacementCandidate {
  gpu: string;
  instanceType: string;
  /** GPUs one replica takes. */
  gpus: number;
  /** GPUs the instance has. */
  instanceGpus: number;
  instancePriceUsd: number;
  perGpuUsd: number;
  /** The replica's share of the instance's price: gpus x per-GPU price. */
  replicaUsd: number;
  /** The CUDA versions the node may be launched with for this workload, best first. */
  cudaVersions: string[];
}

export interface PlacementRequirements {
  estimate: MemoryEstimate;
  /** The GPU models allowed (canonical names); undefined: any. */
  gpuPool?: string[];
  /** Bound on the workload's total share per hour (the lower of its ceilings); undefined for fixed and scheduled. */
  maxHourlyCostUsd?: number;
  /** Bound on the replicas (the lower of max_workers and max_instances). */
  maxReplicas?: number;
  allowedCudaVersions?: string[];
}

export type PlacementChoice = { candidates: PlacementCandidate[] } | { unplaced: UnplacedReason; message: string };

/** What a spec asks of cloud capacity. */
export function placementRequirements(catalog: GpuCatalog, spec: WorkloadSpec): PlacementRequirements {
  const estimate = estimateGpuMemory(spec);
  if (spec.execution_policy !== "autoscaling" || spec.execution_policy_config.workers.source !== "cloud") return { estimate };
  const config = spec.execution_policy_config;
  const pool = config.workers.source === "cloud" ? config.workers.cloud_pool : undefined;
  const ceilings = [config.max_hourly_cost_usd, pool?.max_hourly_cost_usd].filter((v): v is number => typeof v === "number");
  const names = pool?.gpu_pool.map((name) => catalog.model(name)?.displayName ?? name);
  return {
    estimate,
    ...(names === undefined ? {} : { gpuPool: [...new Set(names)] }),
    ...(ceilings.length === 0 ? {} : { maxHourlyCostUsd: Math.min(...ceilings) }),
    maxReplicas: Math.min(config.max_workers, pool?.max_instances ?? Number.POSITIVE_INFINITY),
    ...(pool?.allowed_cuda_versions === undefined ? {} : { allowedCudaVersions: pool.allowed_cuda_versions }),
  };
}

/** Where a replica would fit (memory, CUDA) on one instance type, ignoring price; or why not. */
function fit(catalog: GpuCatalog, region: string, req: PlacementRequirements, instanceType: string): PlacementCandidate | { why: string } {
  const type = catalog.instanceType(instanceType);
  if (type === undefined) return { why: `${instanceType} is not in the catalog` };
  const model = catalog.model(type.gpu);
  const price = type.on_demand_usd_per_hour[region];
  if (price === undefined) return { why: `${instanceType} has no recorded price in ${region}` };
  const cuda = (model?.cudaVersions ?? []).filter((v) => req.allowedCudaVersions === undefined || req.allowedCudaVersions.includes(v));
  if (cuda.length === 0) return { why: `${type.gpu} supports CUDA ${model?.cudaVersions.join(", ")}, none of allowed_cuda_versions ${req.allowedCudaVersions?.join(", ")}` };
  const { estimate } = req;
  const usable = Math.floor(type.gpu_memory_mib * estimate.utilization);
  if (estimate.perGpuMib > usable) {
    return {
      why: `needs ${estimate.perGpuMib} MiB per GPU (${estimate.basis}), one ${type.gpu} offers ${usable} MiB (${type.gpu_memory_mib} x ${estimate.utilization})${
        estimate.gpus === 1 ? "; a larger --tensor-parallel-size would split it" : ""
      }`,
    };
  }
  if (estimate.gpus > type.gpu_count) return { why: `needs ${estimate.gpus} GPUs per replica, ${instanceType} has ${type.gpu_count}` };
  const perGpu = roundUsd(price / type.gpu_count);
  return {
    gpu: type.gpu,
    instanceType,
    gpus: estimate.gpus,
    instanceGpus: type.gpu_count,
    instancePriceUsd: price,
    perGpuUsd: perGpu,
    replicaUsd: roundUsd(perGpu * estimate.gpus),
    cudaVersions: [...cuda].sort((a, b) => Number(b) - Number(a) || b.localeCompare(a)),
  };
}

const byPrice = (a: PlacementCandidate, b: PlacementCandidate) =>
  a.replicaUsd - b.replicaUsd || a.instancePriceUsd - b.instancePriceUsd || a.instanceType.localeCompare(b.instanceType);

function describe(c: PlacementCandidate): string {
  const share = c.gpus === 1 ? "one GPU" : `${c.gpus} GPUs`;
  return `${c.gpu}: ${share} of ${c.instanceType} costs $${c.replicaUsd}/h ($${c.instancePriceUsd}/h for ${c.instanceGpus})`;
}

/**
 * The instance types a replica may go on, cheapest share first; or `Unplaceable` with the numbers:
 * each pool GPU's reason, and the cheapest that fits anywhere in the catalog.
 */
export function choosePlacement(catalog: GpuCatalog, region: string, req: PlacementRequirements): PlacementChoice {
  const inPool = (gpu: string) => req.gpuPool === undefined || req.gpuPool.includes(gpu);
  const candidates: PlacementCandidate[] = [];
  const reasons = new Map<string, string[]>();
  const anywhere: PlacementCandidate[] = [];
  for (const type of catalog.data.instance_types) {
    const result = fit(catalog, region, req, type.instance_type);
    if ("why" in result) {
      if (inPool(type.gpu)) reasons.set(type.gpu, [...(reasons.get(type.gpu) ?? []), `${type.gpu} on ${type.instance_type}: ${result.why}`]);
      continue;
    }
    anywhere.push(result);
    if (!inPool(type.gpu)) continue;
    if (req.maxHourlyCostUsd !== undefined && result.replicaUsd > req.maxHourlyCostUsd + 1e-9) {
      reasons.set(type.gpu, [...(reasons.get(type.gpu) ?? []), `${describe(result)}, above max_hourly_cost_usd ${req.maxHourlyCostUsd}`]);
      continue;
    }
    candidates.push(result);
  }
  if (candidates.length > 0) return { candidates: candidates.sort(byPrice) };
  const cheapest = anywhere.sort(byPrice)[0];
  const pool = req.gpuPool ?? [...reasons.keys()];
  const perGpu = pool.map((gpu) => {
    const why = reasons.get(gpu) ?? [`no instance type of ${gpu} in the catalog`];
    // The cheapest instance's reason speaks for the model; the count says how many more there are.
    return `${why[0]}${why.length > 1 ? ` (and ${why.length - 1} other instance type${why.length > 2 ? "s" : ""})` : ""}`;
  });
  return {
    unplaced: "Unplaceable",
    message: `${perGpu.join("; ")}; cheapest that fits: ${cheapest === undefined ? "nothing in the catalog" : describe(cheapest)}`,
  };
}
