import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type CatalogData, DEFAULT_CATALOG, GpuCatalog, listNodes, reconcileAll } from "../../src";
import { capacityWorld, cloudSpec } from "./world";

const GPUS = ["NVIDIA L4", "NVIDIA A10G", "NVIDIA L40S", "NVIDIA A100-SXM4-80GB", "NVIDIA H100-SXM5-80GB", "NVIDIA T4"];

/** A catalog with some instance types dropped and prices scaled per type. */
const catalogArb = fc
  .array(fc.record({ keep: fc.boolean(), scale: fc.double({ min: 0.3, max: 3, noNaN: true }) }), { minLength: DEFAULT_CATALOG.data.instance_types.length, maxLength: DEFAULT_CATALOG.data.instance_types.length })
  .map((choices) => {
    const types = DEFAULT_CATALOG.data.instance_types
      .filter((_, i) => choices[i]?.keep || i === 0)
      .map((t, i) => ({
        ...t,
        on_demand_usd_per_hour: Object.fromEntries(Object.entries(t.on_demand_usd_per_hour).map(([r, p]) => [r, Math.round(p * (choices[i]?.scale ?? 1) * 1000) / 1000])),
      }));
    return new GpuCatalog({ ...DEFAULT_CATALOG.data, instance_types: types } as CatalogData);
  });

const workloadArb = fc.record({
  pool: fc.option(fc.subarray(GPUS, { minLength: 1 }), { nil: undefined }),
  min: fc.integer({ min: 0, max: 4 }),
  extra: fc.integer({ min: 0, max: 3 }),
  ceiling: fc.double({ min: 0.5, max: 60, noNaN: true }),
  poolCeiling: fc.option(fc.double({ min: 0.5, max: 60, noNaN: true }), { nil: undefined }),
  maxInstances: fc.option(fc.integer({ min: 1, max: 4 }), { nil: undefined }),
  tp: fc.constantFrom(1, 1, 2, 4),
});

const faultArb = fc.record({
  seconds: fc.constantFrom(5, 30, 60, 240, 900, 1500),
  lose: fc.integer({ min: 0, max: 1 }),
  fail: fc.integer({ min: 0, max: 2 }),
  unavailable: fc.option(fc.tuple(fc.constantFrom(...DEFAULT_CATALOG.data.instance_types.map((t) => t.instance_type)), fc.constantFrom("us-east-1a", "us-east-1b")), { nil: undefined }),
  quota: fc.option(fc.constantFrom("p4de.24xlarge", "g6.xlarge", "g5.xlarge"), { nil: undefined }),
  terminateFaults: fc.integer({ min: 0, max: 2 }),
  listFault: fc.boolean(),
  neverReady: fc.option(fc.constantFrom("p4de.24xlarge", "g6.xlarge", "g6e.xlarge"), { nil: undefined }),
  overlap: fc.boolean(),
});

describe("ceilings (property)", () => {
  it("never exceeds a workload's ceilings or the deployment's, over catalogs, specs, packing and faults", async () => {
    await fc.assert(
      fc.asyncProperty(
        catalogArb,
        fc.array(workloadArb, { minLength: 1, maxLength: 4 }),
        fc.record({ usd: fc.double({ min: 1, max: 150, noNaN: true }), instances: fc.integer({ min: 1, max: 5 }) }),
        fc.array(faultArb, { minLength: 4, maxLength: 14 }),
        async (catalog, workloads, deployment, steps) => {
          const w = await capacityWorld({ catalog, settings: { maxHourlyCostUsd: deployment.usd, maxInstances: deployment.instances } });
          const price = (type: string) => catalog.instancePrice(type, "us-east-1") ?? 0;
          const violations: string[] = [];
          // Checked at every launch call, before the instance exists: what exists plus it.
          const launch = w.provider.launch.bind(w.provider);
          w.provider.launch = async (request) => {
            const live = w.provider.live();
            const usd = live.reduce((sum, i) => sum + price(i.instanceType), 0);
            const deduplicated = live.some((i) => i.clientToken === `${request.nodeId}:${request.attempt}:${request.instanceType}@${request.availabilityZone}`);
            // Recorded, not thrown: the controller takes a throwing provider for a lost response.
            if (!deduplicated && (live.length + 1 > deployment.instances || usd + price(request.instanceType) > deployment.usd + 1e-6)) {
              violations.push(`launch of ${request.instanceType} with ${live.length} instances at $${usd}/h`);
            }
            return launch(request);
          };
          for (const [i, spec] of workloads.entries()) {
            const slug = `w${i}`;
            const command = `vllm serve meta-llama/Llama-3.1-8B-Instruct --max-model-len 8192${spec.tp > 1 ? ` --tensor-parallel-size ${spec.tp}` : ""}`;
            const pool = { gpu_pool: spec.pool ?? ["NVIDIA L4"], ...(spec.poolCeiling === undefined ? {} : { max_hourly_cost_usd: spec.poolCeiling }), ...(spec.maxInstances === undefined ? {} : { max_instances: spec.maxInstances }) };
            const body =
              spec.pool === undefined
                ? { ...cloudSpec(slug, pool), command, execution_policy: "fixed", execution_policy_config: { replicas: spec.min } }
                : { ...cloudSpec(slug, pool, { min_workers: spec.min, max_workers: spec.min + spec.extra + 1, max_hourly_cost_usd: spec.ceiling }), command };
            await w.ensure(body);
          }
          for (const step of steps) {
            w.provider.loseLaunchResponses = step.lose;
            w.provider.failLaunches = step.fail;
            if (step.unavailable) w.provider.unavailable.add(`${step.unavailable[0]}@${step.unavailable[1]}`);
            if (step.quota) w.provider.quotaExceeded.add(step.quota);
            w.provider.terminateFaults = step.terminateFaults;
            w.provider.listFaults = step.listFault ? 1 : 0;
            w.provider.neverReady.clear();
            if (step.neverReady) w.provider.neverReady.add(step.neverReady);
            await (step.overlap ? Promise.all([w.tick(step.seconds), reconcileAll(w.ctx, w.compute)]) : w.tick(step.seconds));

            // Workload ceilings: the sum of its shares and its replica count.
            const nodes = (await listNodes(w.ctx)).map((n) => n.node);
            for (const [i, spec] of workloads.entries()) {
              if (spec.pool === undefined) continue;
              // Specs do not change here, so no slot holds a rolling update's second replica: every allocation counts.
              const mine = nodes.flatMap((n) => Object.values(n.allocations)).filter((a) => a.workload === `w${i}`);
              const ceiling = Math.min(spec.ceiling, spec.poolCeiling ?? Number.POSITIVE_INFINITY);
              expect(mine.reduce((sum, a) => sum + a.share_usd_per_hour, 0)).toBeLessThanOrEqual(ceiling + 1e-6);
              expect(mine.length).toBeLessThanOrEqual(Math.min(spec.min + spec.extra + 1, spec.maxInstances ?? 100));
              expect(new Set(mine.map((a) => a.slot)).size).toBe(mine.length);
            }
            expect(violations).toEqual([]);
            // The deployment: every instance that exists, used or not.
            const live = w.provider.live();
            expect(live.length).toBeLessThanOrEqual(deployment.instances);
            expect(live.reduce((sum, i) => sum + price(i.instanceType), 0)).toBeLessThanOrEqual(deployment.usd + 1e-6);
            // Replicas hold whole GPUs, never the same GPU twice.
            for (const node of nodes) {
              const gpus = Object.values(node.allocations).flatMap((a) => a.gpu_indexes);
              expect(new Set(gpus).size).toBe(gpus.length);
              expect(gpus.every((g) => g >= 0 && g < node.gpu_count)).toBe(true);
            }
          }
        },
      ),
      { numRuns: Number(process.env.CAPACITY_PROPERTY_RUNS ?? 40) },
    );
  }, 120_000);
});
