import { describe, expect, it } from "vitest";
import {
  authenticateSdkToken,
  bootstrapAdminToken,
  type Compute,
  createProject,
  ensureWorkload,
  getWorkloadRecord,
  heartbeat,
  listWorkloadReplicas,
  MemoryStore,
  type PlatformContext,
  reconcileWorkload,
  recordColdRequest,
  registerWorker,
  workloadIncarnation,
} from "../../src";

describe("the cold-request signal", () => {
  it("survives a placement that must wait for its worker, and is consumed once the replica is placed", async () => {
    // Prepare: an autoscaling workload at zero; its worker is registered but not online yet (as a
    // local worker is right after the first cold request registered it).
    let clock = Date.parse("2026-06-01T10:00:00Z");
    const ctx: PlatformContext = { store: new MemoryStore(() => clock), serverSecret: "s", now: () => new Date(clock) };
    const admin = await authenticateSdkToken(ctx, `Bearer ${(await bootstrapAdminToken(ctx))?.secret}`);
    await createProject(ctx, admin, { slug: "acme" });
    const { worker } = await registerWorker(ctx, admin, "acme", { name: "box", addresses: ["127.0.0.1"] });
    const compute: Compute = { placeCloudReplica: async () => ({ workerId: worker.id, hourlyPriceUsd: 0 }) };
    await ensureWorkload(ctx, admin, "acme", {
      name: "Bot",
      slug: "bot",
      model: "org/model",
      backend: "vllm",
      execution_policy: "autoscaling",
      execution_policy_config: {
        min_workers: 0,
        max_workers: 1,
        max_hourly_cost_usd: 5,
        workers: { source: "cloud", cloud_pool: { gpu_pool: ["NVIDIA L4"] } },
      },
    });
    const incarnation = workloadIncarnation(await getWorkloadRecord(ctx, admin, "acme", "bot"));
    await recordColdRequest(ctx, "acme", "bot", incarnation);

    // Act: a pass while the worker is offline, its first heartbeat, then the next pass.
    const waiting = await reconcileWorkload(ctx, compute, "acme", "bot");
    const placedWhileOffline = (await listWorkloadReplicas(ctx, "acme", "bot")).length;
    clock += 1000;
    await heartbeat(ctx, { project: "acme", workerId: worker.id }, { host: { hostname: "box", advertise_host: "127.0.0.1", gpus: [] }, replicas: [] });
    const placing = await reconcileWorkload(ctx, compute, "acme", "bot");
    const placed = (await listWorkloadReplicas(ctx, "acme", "bot")).length;
    const consumed = await reconcileWorkload(ctx, compute, "acme", "bot");
    const coldLeft = await ctx.store.get("PRJ#acme", "COLD#bot");

    // Assess
    expect(waiting?.desired).toBe(1);
    expect(placedWhileOffline).toBe(0);
    expect(placing?.desired).toBe(1);
    expect(placed).toBe(1);
    expect(consumed?.desired).toBe(1);
    expect(coldLeft).toBeUndefined();
  });
});
