/**
 * The cloud GPU catalog: the display names users put in `cloud_pool.gpu_pool`. A worker is one
 * machine running one replica, and each offering here is priced per worker-hour: a nominal
 * reference price for one GPU of that model (the deployment overrides prices with its own
 * negotiated or observed ones). Placement and the cost ceiling read from here.
 */
export interface GpuOffering {
  /** Display name as shown in the dashboard's GPU Resources and accepted in `gpu_pool`. */
  displayName: string;
  /** EC2 instance type launched for one worker of this offering. */
  instanceType: string;
  gpuCount: number;
  vramGbPerGpu: number;
  hourlyPriceUsd: number;
  /** Highest CUDA version the instance's driver supports, for `allowed_cuda_versions`. */
  cudaVersions: string[];
}

export const GPU_CATALOG: readonly GpuOffering[] = [
  { displayName: "NVIDIA T4", instanceType: "g4dn.xlarge", gpuCount: 1, vramGbPerGpu: 16, hourlyPriceUsd: 0.53, cudaVersions: ["12.4", "12.8", "13.0"] },
  { displayName: "NVIDIA A10G", instanceType: "g5.xlarge", gpuCount: 1, vramGbPerGpu: 24, hourlyPriceUsd: 1.01, cudaVersions: ["12.4", "12.8", "13.0"] },
  { displayName: "NVIDIA L4", instanceType: "g6.xlarge", gpuCount: 1, vramGbPerGpu: 24, hourlyPriceUsd: 0.81, cudaVersions: ["12.4", "12.8", "13.0"] },
  { displayName: "NVIDIA L40S", instanceType: "g6e.xlarge", gpuCount: 1, vramGbPerGpu: 48, hourlyPriceUsd: 1.86, cudaVersions: ["12.4", "12.8", "13.0"] },
  { displayName: "NVIDIA A100-SXM4-40GB", instanceType: "p4d.24xlarge", gpuCount: 1, vramGbPerGpu: 40, hourlyPriceUsd: 3.4, cudaVersions: ["12.4", "12.8", "13.0"] },
  { displayName: "NVIDIA A100-SXM4-80GB", instanceType: "p4de.24xlarge", gpuCount: 1, vramGbPerGpu: 80, hourlyPriceUsd: 4.1, cudaVersions: ["12.4", "12.8", "13.0"] },
  { displayName: "NVIDIA H100-SXM5-80GB", instanceType: "p5.4xlarge", gpuCount: 1, vramGbPerGpu: 80, hourlyPriceUsd: 6.88, cudaVersions: ["12.4", "12.8", "13.0"] },
];

export const GPU_DISPLAY_NAMES: readonly string[] = GPU_CATALOG.map((o) => o.displayName);

export function findOffering(displayName: string): GpuOffering | undefined {
  return GPU_CATALOG.find((o) => o.displayName === displayName);
}

/** CUDA versions any catalog offering supports, for validating `allowed_cuda_versions`. */
export const KNOWN_CUDA_VERSIONS: readonly string[] = [...new Set(GPU_CATALOG.flatMap((o) => o.cudaVersions))].sort();
