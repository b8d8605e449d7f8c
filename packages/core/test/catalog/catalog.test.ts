import { describe, expect, it } from "vitest";
import {
  bootstrapAdminToken,
  CatalogDataSchema,
  catalogEntries,
  createControlApi,
  DEFAULT_CATALOG,
  GpuCatalog,
  GPU_MODELS,
  MemoryStore,
  type PlatformContext,
  RECORDED_CATALOG_DATA,
} from "../../src";

describe("GPU catalog", () => {
  it("is checked here rather than at every cold start: the recorded data is exactly what its schema accepts", () => {
    expect(CatalogDataSchema.parse(RECORDED_CATALOG_DATA)).toEqual(RECORDED_CATALOG_DATA);
    expect(DEFAULT_CATALOG.data).toBe(RECORDED_CATALOG_DATA);
    expect(() => new GpuCatalog({ ...RECORDED_CATALOG_DATA, date: "yesterday" })).toThrow();
  });

  it("is data with its date and source, covering the EC2 GPU families with usable GPU memory", () => {
    expect(DEFAULT_CATALOG.data.date).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    expect(DEFAULT_CATALOG.data.source).toContain("GetProducts");
    const types = DEFAULT_CATALOG.data.instance_types.map((t) => t.instance_type);
    for (const required of ["g4dn.xlarge", "g5.xlarge", "g6.xlarge", "g6e.xlarge", "p4d.24xlarge", "p4de.24xlarge", "p5.48xlarge", "p5.4xlarge", "p5en.48xlarge", "p6-b200.48xlarge"]) {
      expect(types).toContain(required);
    }
    const memory = (type: string) => DEFAULT_CATALOG.instanceType(type)?.gpu_memory_mib;
    expect([memory("g5.xlarge"), memory("g6.xlarge"), memory("g6e.xlarge")]).toEqual([22888, 22888, 45776]);
    expect(DEFAULT_CATALOG.instanceType("p4de.24xlarge")).toMatchObject({ gpu: "NVIDIA A100-SXM4-80GB", gpu_count: 8, vcpus: 96 });
  });

  it("prices instances per hour and GPUs as their share: p4de.24xlarge $27.447/h is $3.431 per GPU", () => {
    expect(DEFAULT_CATALOG.instancePrice("p4de.24xlarge", "us-east-1")).toBe(27.447);
    expect(DEFAULT_CATALOG.perGpuPrice("p4de.24xlarge", "us-east-1")).toBe(3.431);
    expect(DEFAULT_CATALOG.cheapestPerGpu("NVIDIA A100-SXM4-80GB", "us-east-1")).toEqual({ instanceType: "p4de.24xlarge", perGpuUsd: 3.431 });
    // A type without a recorded price is listed, never priced (so never launched).
    expect(DEFAULT_CATALOG.instanceType("p5en.48xlarge")?.purchase_options).toEqual([]);
    expect(DEFAULT_CATALOG.instancePrice("p5en.48xlarge", "us-east-1")).toBeUndefined();
  });

  it("accepts today's names as aliases of the nvidia-smi display names", () => {
    expect(DEFAULT_CATALOG.model("NVIDIA H100-SXM5-80GB")?.displayName).toBe("NVIDIA H100 80GB HBM3");
    expect(DEFAULT_CATALOG.model("NVIDIA A100-SXM4-80GB")?.displayName).toBe("NVIDIA A100-SXM4-80GB");
    for (const model of GPU_MODELS) expect(DEFAULT_CATALOG.acceptedNames()).toContain(model.displayName);
  });

  it("GET /v1/catalog/gpus keeps the fields clients read and adds instance types, per-GPU prices, aliases and the data's date", async () => {
    const ctx: PlatformContext = { store: new MemoryStore(), serverSecret: "s", now: () => new Date() };
    const admin = (await bootstrapAdminToken(ctx))?.secret as string;
    const api = createControlApi(ctx, { log: () => undefined });
    const response = await api(new Request("http://local/v1/catalog/gpus", { headers: { authorization: `Bearer ${admin}` } }));
    const body = (await response.json()) as { data: Record<string, unknown>[]; catalog: { date: string; source: string } };
    expect(response.status).toBe(200);
    expect(body.catalog.date).toBe(DEFAULT_CATALOG.data.date);
    const a100 = body.data.find((g) => g.display_name === "NVIDIA A100-SXM4-80GB");
    // The console reads instance_type and gpu_count at the top: the type the cheapest share is of.
    expect(a100).toMatchObject({ vram_gb: 80, gpu_memory_mib: 81920, hourly_price_usd: 3.431, instance_type: "p4de.24xlarge", gpu_count: 8, cuda_versions: ["12.4", "12.8", "13.0"], aliases: [] });
    expect(a100?.instance_types).toEqual([
      {
        instance_type: "p4de.24xlarge",
        gpu_count: 8,
        vcpus: 96,
        memory_mib: 1179648,
        purchase_options: ["on-demand"],
        on_demand_usd_per_hour: { "us-east-1": 27.447, "us-west-2": 27.447 },
        per_gpu_usd_per_hour: { "us-east-1": 3.431, "us-west-2": 3.431 },
      },
    ]);
    expect(body.data.find((g) => g.display_name === "NVIDIA H100 80GB HBM3")).toMatchObject({ aliases: ["NVIDIA H100-SXM5-80GB"], hourly_price_usd: 6.88 });
    expect(body.data).toEqual(catalogEntries());
  });

  it("an unknown gpu_pool name is a 400 naming the field, with a suggestion", async () => {
    const ctx: PlatformContext = { store: new MemoryStore(), serverSecret: "s", now: () => new Date() };
    const admin = (await bootstrapAdminToken(ctx))?.secret as string;
    const api = createControlApi(ctx, { log: () => undefined });
    const spec = {
      name: "x",
      slug: "x",
      model: "meta-llama/Llama-3.1-8B-Instruct",
      backend: "vllm",
      execution_policy: "autoscaling",
      execution_policy_config: { max_workers: 1, max_hourly_cost_usd: 5, workers: { source: "cloud", cloud_pool: { gpu_pool: ["NVIDIA H100-SXM5-80G"] } } },
    };
    const response = await api(
      new Request("http://local/v1/projects/acme/workloads/x", { method: "PUT", headers: { authorization: `Bearer ${admin}`, "content-type": "application/json" }, body: JSON.stringify(spec) }),
    );
    expect(response.status).toBe(400);
    const body = (await response.json()) as { error: { details: { path: string; suggestion?: string; message: string }[] } };
    expect(body.error.details).toContainEqual(
      expect.objectContaining({ path: "execution_policy_config.workers.cloud_pool.gpu_pool[0]", suggestion: "NVIDIA H100-SXM5-80GB" }),
    );
  });
});

describe("GET /v1/catalog/gpus listing", () => {
  it("lists only GPU models with a priced instance type, so hourly_price_usd is always a number", () => {
    const entries = catalogEntries();
    expect(entries.every((e) => typeof e.hourly_price_usd === "number" && e.hourly_price_usd > 0)).toBe(true);
    expect(entries.map((e) => e.display_name)).not.toContain("NVIDIA H200");
    expect(entries.map((e) => e.display_name)).toEqual(expect.arrayContaining(["NVIDIA T4", "NVIDIA L4", "NVIDIA A10G", "NVIDIA L40S", "NVIDIA A100-SXM4-80GB", "NVIDIA B200"]));
  });
});
