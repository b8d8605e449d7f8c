import {
  authenticateSdkToken,
  bootstrapAdminToken,
  type Compute,
  createProject,
  ensureWorkload,
  heartbeat,
  InProcessProjectDispatcher,
  listWorkloadReplicas,
  MemoryStore,
  type PlatformContext,
  type ReconcileOutcome,
  registerWorker,
} from "@inferencekey/core";
import { describe, expect, it } from "vitest";
import { LocalController } from "../src/local-controller";

describe("LocalController", () => {
  it("with a fan-out dispatcher, a tick reconciles every project's workloads through it and reports each outcome", async () => {
    // Prepare: three projects of two workloads, one worker each.
    const ctx: PlatformContext = { store: new MemoryStore(), serverSecret: "s", now: () => new Date() };
    const admin = await authenticateSdkToken(ctx, `Bearer ${(await bootstrapAdminToken(ctx))?.secret}`);
    const workers = new Map<string, string>();
    for (const project of ["a", "b", "c"]) {
      await createProject(ctx, admin, { slug: project });
      const { worker } = await registerWorker(ctx, admin, project, { name: "box", addresses: ["127.0.0.1"] });
      await heartbeat(ctx, { project, workerId: worker.id }, { host: { hostname: "box", advertise_host: "127.0.0.1", gpus: [] }, replicas: [] });
      workers.set(project, worker.id);
      for (const slug of ["x", "y"]) await ensureWorkload(ctx, admin, project, { name: slug, slug, model: "m/m", backend: "vllm" });
    }
    const compute: Compute = { placeCloudReplica: async (_c, w) => ({ workerId: workers.get(w.project) as string, hourlyPriceUsd: 0 }) };
    const reported: ReconcileOutcome[] = [];
    const fanout = new InProcessProjectDispatcher(ctx, compute, {
      concurrency: 3,
      onPass: (_tick, result) => reported.push(...result.outcomes),
    });
    const controller = new LocalController(ctx, compute, { tickMs: 60_000, log: () => undefined, fanout });

    // Act
    await controller.tick();

    // Assess
    expect(reported.map((o) => `${o.project}/${o.workload}`).sort()).toEqual(["a/x", "a/y", "b/x", "b/y", "c/x", "c/y"]);
    for (const project of ["a", "b", "c"]) {
      for (const slug of ["x", "y"]) expect(await listWorkloadReplicas(ctx, project, slug)).toHaveLength(1);
    }
  });
});
