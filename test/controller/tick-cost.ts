import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  authenticateSdkToken,
  bootstrapAdminToken,
  type Compute,
  createProject,
  ensureWorkload,
  heartbeat,
  listWorkerReplicas,
  type PlatformContext,
  reconcileAll,
  registerWorker,
} from "@inferencekey/core";
import { SqliteStore } from "@inferencekey/local";

export interface TickCost {
  workloads: number;
  setupMs: number;
  firstTickMs: number;
  steadyTickMs: number;
  replicas: number;
}

/**
 * Measures one controller tick over `count` fixed workloads on the embedded (SQLite) store: the first
 * tick places a replica for each, the second (steady state, all ready) only reads and confirms.
 */
export async function measureTickCost(count: number): Promise<TickCost> {
  const dir = mkdtempSync(join(tmpdir(), "ik-tick-"));
  const store = new SqliteStore(join(dir, "store.db"));
  try {
    const ctx: PlatformContext = { store, serverSecret: "bench", now: () => new Date() };
    const admin = await authenticateSdkToken(ctx, `Bearer ${(await bootstrapAdminToken(ctx))?.secret}`);
    await createProject(ctx, admin, { slug: "acme" });
    const { worker } = await registerWorker(ctx, admin, "acme", { name: "box", addresses: ["127.0.0.1"] });
    const compute: Compute = { placeCloudReplica: async () => ({ workerId: worker.id, hourlyPriceUsd: 0 }) };
    const beat = async () => {
      const placed = (await listWorkerReplicas(ctx, worker.id)).map((r) => r.record);
      await heartbeat(ctx, { project: "acme", workerId: worker.id }, {
        host: { hostname: "box", advertise_host: "127.0.0.1", gpus: [] },
        replicas: placed.map((r) => ({ replica_id: r.id, port: r.port, restarts: 0, state: "ready" as const })),
      });
    };
    const setupStart = performance.now();
    await beat();
    for (let i = 0; i < count; i++) {
      await ensureWorkload(ctx, admin, "acme", { name: `w${i}`, slug: `w-${i}`, model: "m/m", backend: "vllm" });
    }
    const setupMs = performance.now() - setupStart;
    const firstStart = performance.now();
    await reconcileAll(ctx, compute);
    const firstTickMs = performance.now() - firstStart;
    await beat();
    const steadyStart = performance.now();
    await reconcileAll(ctx, compute);
    const steadyTickMs = performance.now() - steadyStart;
    const replicas = (await listWorkerReplicas(ctx, worker.id)).length;
    return { workloads: count, setupMs, firstTickMs, steadyTickMs, replicas };
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const count = Number(process.argv[2] ?? 1000);
  const result = await measureTickCost(count);
  console.log("| workloads | first tick (places 1 replica each) | steady tick | replicas |");
  console.log("|---|---|---|---|");
  console.log(`| ${result.workloads} | ${(result.firstTickMs / 1000).toFixed(2)} s | ${(result.steadyTickMs / 1000).toFixed(2)} s | ${result.replicas} |`);
}
