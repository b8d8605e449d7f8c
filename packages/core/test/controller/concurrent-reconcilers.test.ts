import { describe, expect, it } from "vitest";
import {
  authenticateSdkToken,
  bootstrapAdminToken,
  type Compute,
  createProject,
  ensureWorkload,
  heartbeat,
  listWorkerReplicas,
  MemoryStore,
  type PlatformContext,
  reconcileAll,
  registerWorker,
  replicaKeys,
} from "../../src";

/** A small deterministic PRNG so a failure can be replayed from its seed. */
function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 0x100000000;
  };
}

describe("two reconcilers against one store", () => {
  it("200 ticks with random compute faults: at rest, exactly the desired replicas, none lost, no orphan", async () => {
    // Prepare: one registered worker (its agent simulated by heartbeats), 6 workloads, a faulty Compute.
    const random = prng(20261127);
    let clock = Date.parse("2026-11-27T10:00:00Z");
    const ctx: PlatformContext = { store: new MemoryStore(() => clock), serverSecret: "s", now: () => new Date(clock) };
    const admin = await authenticateSdkToken(ctx, `Bearer ${(await bootstrapAdminToken(ctx))?.secret}`);
    await createProject(ctx, admin, { slug: "acme" });
    const { worker } = await registerWorker(ctx, admin, "acme", { name: "box", addresses: ["127.0.0.1"] });
    let faults = true;
    const compute: Compute = {
      async placeCloudReplica() {
        if (faults && random() < 0.3) throw new Error("injected compute fault");
        if (faults && random() < 0.2) return { unavailable: "injected: no capacity" };
        return { workerId: worker.id, hourlyPriceUsd: 0 };
      },
    };
    const desired = new Map<string, number>();
    const ensure = async (slug: string, replicas: number, model: string) => {
      desired.set(slug, replicas);
      await ensureWorkload(ctx, admin, "acme", { name: slug, slug, model, backend: "vllm", execution_policy_config: { replicas } });
    };
    for (let i = 0; i < 6; i++) await ensure(`w${i}`, 1 + (i % 3), "m/a");
    const agent = async (failRate: number) => {
      const placed = (await listWorkerReplicas(ctx, worker.id)).map((r) => r.record);
      await heartbeat(ctx, { project: "acme", workerId: worker.id }, {
        host: { hostname: "box", advertise_host: "127.0.0.1", gpus: [] },
        replicas: placed.map((r) => ({
          replica_id: r.id,
          port: r.port,
          restarts: 0,
          state: r.desired === "stopped" ? "stopped" : random() < failRate ? "starting" : "ready",
        })),
      });
    };
    await agent(0);

    // Act: 200 ticks; specs change, both controllers run at once, compute faults are thrown.
    for (let tick = 0; tick < 200; tick++) {
      clock += 1000;
      if (random() < 0.15) {
        const slug = `w${Math.floor(random() * 6)}`;
        await ensure(slug, Math.floor(random() * 4), random() < 0.5 ? "m/a" : "m/b");
      }
      const results = await Promise.allSettled([
        reconcileAll(ctx, compute, { controllerId: "one" }),
        reconcileAll(ctx, compute, { controllerId: "two" }),
      ]);
      void results; // faults surface as rejections of a tick; the next tick repairs
      await agent(0.2);
    }
    // Rest: faults off, a few ticks to converge.
    faults = false;
    for (let tick = 0; tick < 15; tick++) {
      clock += 1000;
      await Promise.all([reconcileAll(ctx, compute, { controllerId: "one" }), reconcileAll(ctx, compute, { controllerId: "two" })]);
      await agent(0);
    }

    // Assess
    const replicas = (await listWorkerReplicas(ctx, worker.id)).map((r) => r.record);
    for (const [slug, count] of desired) {
      const running = replicas.filter((r) => r.workload === slug && r.desired === "running");
      expect(running.length, slug).toBe(count);
      expect(new Set(running.map((r) => r.slot)).size, `${slug} slots`).toBe(count);
      expect(running.every((r) => r.phase === "ready"), `${slug} ready`).toBe(true);
    }
    expect(replicas.filter((r) => r.desired === "stopped")).toEqual([]);
    const ports = await ctx.store.query({ pk: replicaKeys.port(worker.id, 0).pk });
    expect(ports.items.map((p) => Number(p.sk)).sort()).toEqual(replicas.map((r) => r.port).sort());
  });
});
