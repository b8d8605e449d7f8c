import {
  authenticateSdkToken,
  bootstrapAdminToken,
  type Compute,
  createProject,
  ensureWorkload,
  fanOutTick,
  heartbeat,
  InProcessProjectDispatcher,
  listWorkerReplicas,
  MemoryStore,
  type PlatformContext,
  reconcileAll,
  registerWorker,
} from "@inferencekey/core";
import { LatencyStore } from "../../support/latency-store";

/**
 * The controller fan-out benchmark's model: the memory store behind a LatencyStore that waits
 * `latencyMs` before every call (a DynamoDB round trip from Lambda in the same region is 3-8 ms;
 * a transaction counts as one call) and counts calls by kind; `projects` projects of `perProject`
 * fixed one-replica workloads, one online worker per project; the tick fanned out through the
 * in-process dispatcher, whose `concurrency` passes at once stand for that many concurrent consumer
 * invocations. All of them share this process's one core, so CPU is measured (process.cpuUsage)
 * and reported per workload: in Lambda each invocation has its own.
 */
export interface Fleet {
  ctx: PlatformContext;
  store: LatencyStore;
  compute: Compute;
  workloads: number;
  /** Every worker reports its replicas ready (no latency: this is setup, not the tick). */
  reportReady(): Promise<void>;
}

export async function buildFleet(projects: number, perProject: number): Promise<Fleet> {
  const store = new LatencyStore(new MemoryStore());
  const ctx: PlatformContext = { store, serverSecret: "bench", now: () => new Date() };
  const admin = await authenticateSdkToken(ctx, `Bearer ${(await bootstrapAdminToken(ctx))?.secret}`);
  const workers = new Map<string, string>();
  for (let p = 0; p < projects; p++) {
    const project = `proj-${p}`;
    await createProject(ctx, admin, { slug: project });
    const { worker } = await registerWorker(ctx, admin, project, { name: "box", addresses: ["127.0.0.1"] });
    workers.set(project, worker.id);
    for (let w = 0; w < perProject; w++) {
      await ensureWorkload(ctx, admin, project, { name: `w${w}`, slug: `w-${w}`, model: "m/m", backend: "vllm" });
    }
  }
  const beat = async (project: string, workerId: string) => {
    const placed = (await listWorkerReplicas(ctx, workerId)).map((r) => r.record);
    await heartbeat(ctx, { project, workerId }, {
      host: { hostname: project, advertise_host: "127.0.0.1", gpus: [] },
      replicas: placed.map((r) => ({ replica_id: r.id, port: r.port, restarts: 0, state: "ready" as const })),
    });
  };
  for (const [project, workerId] of workers) await beat(project, workerId);
  const compute: Compute = { placeCloudReplica: async (_ctx, workload) => ({ workerId: workers.get(workload.project) as string, hourlyPriceUsd: 0 }) };
  return {
    ctx,
    store,
    compute,
    workloads: projects * perProject,
    reportReady: async () => {
      for (const [project, workerId] of workers) await beat(project, workerId);
    },
  };
}

export interface TickMeasure {
  kind: "fan-out" | "sequential";
  workloads: number;
  concurrency: number;
  latencyMs: number;
  wallMs: number;
  cpuMs: number;
  calls: LatencyStore["calls"];
  reconciled: number;
  failed: number;
}

/** One fanned-out tick over the fleet, measured. */
export async function measureFanOutTick(fleet: Fleet, options: { concurrency: number; latencyMs: number; parallelism?: number }): Promise<TickMeasure> {
  let reconciled = 0;
  let failed = 0;
  const dispatcher = new InProcessProjectDispatcher(fleet.ctx, fleet.compute, {
    concurrency: options.concurrency,
    parallelism: options.parallelism ?? 4,
    onPass: (_tick, result) => {
      reconciled += result.outcomes.filter((o) => !o.skipped).length;
      failed += result.failed.length;
    },
  });
  fleet.store.reset();
  fleet.store.latencyMs = options.latencyMs;
  const cpu = process.cpuUsage();
  const started = performance.now();
  await fanOutTick(fleet.ctx, dispatcher);
  const wallMs = performance.now() - started;
  const used = process.cpuUsage(cpu);
  fleet.store.latencyMs = 0;
  return {
    kind: "fan-out",
    workloads: fleet.workloads,
    concurrency: options.concurrency,
    latencyMs: options.latencyMs,
    wallMs,
    cpuMs: (used.user + used.system) / 1000,
    calls: { ...fleet.store.calls },
    reconciled,
    failed,
  };
}

/** One sequential tick (reconcileAll, the tick without a queue), measured. */
export async function measureSequentialTick(fleet: Fleet, latencyMs: number): Promise<TickMeasure> {
  fleet.store.reset();
  fleet.store.latencyMs = latencyMs;
  const cpu = process.cpuUsage();
  const started = performance.now();
  const outcomes = await reconcileAll(fleet.ctx, fleet.compute);
  const wallMs = performance.now() - started;
  const used = process.cpuUsage(cpu);
  fleet.store.latencyMs = 0;
  return {
    kind: "sequential",
    workloads: fleet.workloads,
    concurrency: 1,
    latencyMs,
    wallMs,
    cpuMs: (used.user + used.system) / 1000,
    calls: { ...fleet.store.calls },
    reconciled: outcomes.filter((o) => !o.skipped).length,
    failed: 0,
  };
}

export function row(label: string, m: TickMeasure): string {
  const total = Object.values(m.calls).reduce((a, b) => a + b, 0);
  const perWorkload = (n: number) => (n / m.workloads).toFixed(2);
  return `| ${label} | ${m.kind} | ${m.workloads} | ${m.concurrency} | ${(m.wallMs / 1000).toFixed(1)} s | ${perWorkload(total)} (get ${perWorkload(m.calls.get)}, put ${perWorkload(m.calls.put)}, transact ${perWorkload(m.calls.transact)}, query ${perWorkload(m.calls.query)}, delete ${perWorkload(m.calls.delete)}) | ${(m.cpuMs / m.workloads).toFixed(2)} ms | ${m.reconciled} |`;
}

export const TABLE_HEADER = [
  "| tick | mode | workloads | concurrent invocations | wall | store calls / workload | CPU / workload | reconciled |",
  "|---|---|---|---|---|---|---|---|",
];
