import * as z from "zod/mini";
import "../zod";
import recorded from "./ec2-gpu-catalog.json" with { type: "json" };

/**
 * The cloud GPU catalog: EC2 GPU instance types (data with its date and source, in
 * `ec2-gpu-catalog.json`, refreshed by `npm run catalog:refresh`) and the per-GPU display names
 * users write in `cloud_pool.gpu_pool`. Instances are priced per instance-hour; a workload is
 * charged its GPUs' share of its node's price (an 8-GPU p4de.24xlarge at $27.447/h: $3.43 per GPU).
 */

export const InstanceTypeSchema = z.strictObject({
  instance_type: z.string().check(z.minLength(1)),
  /** Display name of its GPU (a key of GPU_MODELS). */
  gpu: z.string().check(z.minLength(1)),
  gpu_count: z.number().check(z.int(), z.gte(1)),
  /** Usable GPU memory per GPU, as EC2 reports it (22,888 MiB on an A10G or L4, not the marketing 24 GB). */
  gpu_memory_mib: z.number().check(z.int(), z.positive()),
  vcpus: z.number().check(z.int(), z.positive()),
  memory_mib: z.number().check(z.int(), z.positive()),
  /** Empty when no price is recorded: such a type is listed, never launched. */
  purchase_options: z.array(z.enum(["on-demand"])),
  /** USD per instance-hour, Linux on-demand, per region. */
  on_demand_usd_per_hour: z.record(z.string(), z.number().check(z.positive())),
});

export const CatalogDataSchema = z.strictObject({
  /** When the data was recorded (YYYY-MM-DD). */
  date: z.string().check(z.regex(/^\d{4}-\d{2}-\d{2}$/)),
  source: z.string().check(z.minLength(1)),
  regions: z.array(z.string().check(z.minLength(1))).check(z.minLength(1)),
  instance_types: z.array(InstanceTypeSchema).check(z.minLength(1)),
});

export type InstanceType = z.output<typeof InstanceTypeSchema>;
export type CatalogData = z.output<typeof CatalogDataSchema>;

/** A GPU model as users name it, with the names it was known by before (still accepted). */
export interface GpuModel {
  displayName: string;
  aliases: readonly string[];
  /** CUDA versions the driver of the images launched for it supports, for `allowed_cuda_versions`. */
  cudaVersions: readonly string[];
}

const CUDA = ["12.4", "12.8", "13.0"] as const;

/** Display names follow `nvidia-smi` (as the guide's `NVIDIA A100-SXM4-80GB` does). */
export const GPU_MODELS: readonly GpuModel[] = [
  { displayName: "NVIDIA T4", aliases: ["Tesla T4"], cudaVersions: CUDA },
  { displayName: "NVIDIA A10G", aliases: [], cudaVersions: CUDA },
  { displayName: "NVIDIA L4", aliases: [], cudaVersions: CUDA },
  { displayName: "NVIDIA L40S", aliases: [], cudaVersions: CUDA },
  { displayName: "NVIDIA A100-SXM4-40GB", aliases: [], cudaVersions: CUDA },
  { displayName: "NVIDIA A100-SXM4-80GB", aliases: [], cudaVersions: CUDA },
  { displayName: "NVIDIA H100 80GB HBM3", aliases: ["NVIDIA H100-SXM5-80GB"], cudaVersions: CUDA },
  { displayName: "NVIDIA H200", aliases: [], cudaVersions: CUDA },
  { displayName: "NVIDIA B200", aliases: [], cudaVersions: ["12.8", "13.0"] },
  { displayName: "NVIDIA B300", aliases: [], cudaVersions: ["12.8", "13.0"] },
];

/** A catalog the controller reads: the recorded data by default, or another (a refreshed one, a test's). */
export class GpuCatalog {
  readonly data: CatalogData;
  readonly models: readonly GpuModel[];

  /**
   * `data` is checked against the schema, unless `checked` says it was already: the recorded
   * catalog is checked by its unit test instead of at every cold start (parsing it costs ~5 ms).
   */
  constructor(data: CatalogData, models: readonly GpuModel[] = GPU_MODELS, checked = false) {
    this.data = checked ? data : CatalogDataSchema.parse(data);
    this.models = models;
    for (const type of this.data.instance_types) {
      if (!models.some((m) => m.displayName === type.gpu)) throw new Error(`catalog: ${type.instance_type} names GPU "${type.gpu}", which is not a GPU model`);
    }
  }

  /** The canonical model for a display name or one of its aliases. */
  model(name: string): GpuModel | undefined {
    return this.models.find((m) => m.displayName === name || m.aliases.includes(name));
  }

  /** Every name `gpu_pool` accepts: display names, then aliases. */
  acceptedNames(): string[] {
    return [...this.models.map((m) => m.displayName), ...this.models.flatMap((m) => m.aliases)];
  }

  instanceTypes(gpu?: string): InstanceType[] {
    const model = gpu === undefined ? undefined : this.model(gpu);
    if (gpu !== undefined && model === undefined) return [];
    return this.data.instance_types.filter((t) => model === undefined || t.gpu === model.displayName);
  }

  instanceType(name: string): InstanceType | undefined {
    return this.data.instance_types.find((t) => t.instance_type === name);
  }

  /** USD per instance-hour in the region; undefined when none is recorded there. */
  instancePrice(instanceType: string, region: string): number | undefined {
    return this.instanceType(instanceType)?.on_demand_usd_per_hour[region];
  }

  /** One GPU's share of the instance's price (per-GPU price), rounded to a tenth of a cent. */
  perGpuPrice(instanceType: string, region: string): number | undefined {
    const type = this.instanceType(instanceType);
    const price = type?.on_demand_usd_per_hour[region];
    return type === undefined || price === undefined ? undefined : roundUsd(price / type.gpu_count);
  }

  /** The cheapest per-GPU price of a model in a region, and the instance type that gives it. */
  cheapestPerGpu(gpu: string, region: string): { instanceType: string; perGpuUsd: number } | undefined {
    let best: { instanceType: string; perGpuUsd: number } | undefined;
    for (const type of this.instanceTypes(gpu)) {
      const perGpu = this.perGpuPrice(type.instance_type, region);
      if (perGpu !== undefined && (best === undefined || perGpu < best.perGpuUsd)) best = { instanceType: type.instance_type, perGpuUsd: perGpu };
    }
    return best;
  }
}

/** Prices are shown and compared to a tenth of a cent. */
export function roundUsd(value: number): number {
  return Math.round(value * 1000) / 1000;
}

/** The recorded catalog's data (`catalog.test.ts` checks it against `CatalogDataSchema`). */
export const RECORDED_CATALOG_DATA = recorded as CatalogData;
/** The catalog as recorded in this repository. */
export const DEFAULT_CATALOG = new GpuCatalog(RECORDED_CATALOG_DATA, GPU_MODELS, true);
/** The region prices are quoted for when the deployment names none. */
export const DEFAULT_CATALOG_REGION = "us-east-1";

/** Every name `gpu_pool` accepts (display names and aliases). */
export const GPU_DISPLAY_NAMES: readonly string[] = DEFAULT_CATALOG.acceptedNames();

/** The GPU model a `gpu_pool` name (display name or alias) stands for. */
export function findGpuModel(name: string): GpuModel | undefined {
  return DEFAULT_CATALOG.model(name);
}

/** CUDA versions any catalog GPU supports, for validating `allowed_cuda_versions`. */
export const KNOWN_CUDA_VERSIONS: readonly string[] = [...new Set(GPU_MODELS.flatMap((m) => m.cudaVersions))].sort();

/** One row of `GET /v1/catalog/gpus`: a GPU model with its instance types and per-GPU prices (models priced in the region only). */
export interface GpuCatalogEntry {
  display_name: string;
  aliases: string[];
  /** GPU memory in GB (GiB of the usable MiB, rounded down), kept for older clients. */
  vram_gb: number;
  gpu_memory_mib: number;
  /** The cheapest per-GPU share of an instance's price in the deployment's region (USD per GPU-hour). */
  hourly_price_usd: number;
  /** The instance type that share is of, and its GPU count. */
  instance_type: string;
  gpu_count: number;
  cuda_versions: string[];
  instance_types: {
    instance_type: string;
    gpu_count: number;
    vcpus: number;
    memory_mib: number;
    purchase_options: string[];
    on_demand_usd_per_hour: Record<string, number>;
    per_gpu_usd_per_hour: Record<string, number>;
  }[];
}

export function catalogEntries(catalog: GpuCatalog = DEFAULT_CATALOG, region: string = DEFAULT_CATALOG_REGION): GpuCatalogEntry[] {
  // A model with no priced instance type in the region cannot be launched there: not listed.
  return catalog.models
    .map((model) => ({ model, types: catalog.instanceTypes(model.displayName) }))
    .filter(({ model }) => catalog.cheapestPerGpu(model.displayName, region) !== undefined)
    .map(({ model, types }) => {
      const memory = Math.min(...types.map((t) => t.gpu_memory_mib));
      const cheapest = catalog.cheapestPerGpu(model.displayName, region) as { instanceType: string; perGpuUsd: number };
      return {
        display_name: model.displayName,
        aliases: [...model.aliases],
        vram_gb: Math.floor(memory / 1024),
        gpu_memory_mib: memory,
        hourly_price_usd: cheapest.perGpuUsd,
        instance_type: cheapest.instanceType,
        gpu_count: catalog.instanceType(cheapest.instanceType)?.gpu_count ?? 1,
        cuda_versions: [...model.cudaVersions],
        instance_types: types.map((t) => ({
          instance_type: t.instance_type,
          gpu_count: t.gpu_count,
          vcpus: t.vcpus,
          memory_mib: t.memory_mib,
          purchase_options: [...t.purchase_options],
          on_demand_usd_per_hour: { ...t.on_demand_usd_per_hour },
          per_gpu_usd_per_hour: Object.fromEntries(Object.entries(t.on_demand_usd_per_hour).map(([r, p]) => [r, roundUsd(p / t.gpu_count)])),
        })),
      };
    });
}

export { applyPrices, type OnDemandPrice, parsePriceListEntry, priceListFilters } from "./price-list";
