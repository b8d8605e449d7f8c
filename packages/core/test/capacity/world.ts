import {
  authenticateSdkToken,
  bootstrapAdminToken,
  type CapacitySettings,
  createProject,
  ensureWorkload,
  getNode,
  getWorkload,
  type GpuCatalog,
  heartbeat,
  listNodes,
  listWorkerReplicas,
  MemoryStore,
  type NodeRecord,
  nodeLaunchToken,
  type PlatformContext,
  reconcileAll,
  recordColdRequest,
  redeemLaunchToken,
  SharedCloudCompute,
} from "../../src";
import { FaultyNodeProvider } from "./fake-node-provider";

/** A vLLM spec on shared capacity; `gpu_pool` and ceilings as given. */
export function cloudSpec(slug: string, pool: Record<string, unknown>, more: Record<string, unknown> = {}) {
  return {
    name: slug,
    slug,
    model: "meta-llama/Llama-3.1-8B-Instruct",
    backend: "vllm",
    command: "vllm serve meta-llama/Llama-3.1-8B-Instruct --max-model-len 8192",
    execution_policy: "autoscaling",
    execution_policy_config: { min_workers: 1, max_workers: 4, max_hourly_cost_usd: 100, workers: { source: "cloud", cloud_pool: pool }, ...more },
  };
}

/**
 * The real controller (reconcileAll) over shared capacity on a fault-injecting provider, with a
 * fake clock. Node agents are simulated: an instance booted `bootMs` ago registers with its launch
 * token, and every worker of a ready node heartbeats its replicas as ready.
 */
export async function capacityWorld(options: { start?: string; settings?: Partial<CapacitySettings>; catalog?: GpuCatalog; bootMs?: number } = {}) {
  let clock = Date.parse(options.start ?? "2026-11-30T10:00:00Z");
  const ctx: PlatformContext = { store: new MemoryStore(() => clock), serverSecret: "s", now: () => new Date(clock) };
  const admin = await authenticateSdkToken(ctx, `Bearer ${(await bootstrapAdminToken(ctx))?.secret}`);
  await createProject(ctx, admin, { slug: "acme" });
  const provider = new FaultyNodeProvider(() => clock);
  const log: string[] = [];
  const compute = new SharedCloudCompute(
    provider,
    { maxHourlyCostUsd: 1000, maxInstances: 20, ...options.settings },
    { log: (line) => log.push(line), ...(options.catalog === undefined ? {} : { catalog: options.catalog }) },
  );
  const bootMs = options.bootMs ?? 3 * 60_000;
  /** Replica ids the simulated agents report as failed (the process exited). */
  const failing = new Set<string>();

  const agents = async () => {
    for (const instance of provider.bootedInstances(bootMs)) {
      if (instance.nodeId === undefined) continue;
      const found = await getNode(ctx, instance.nodeId);
      if (found === undefined || found.node.instance_id !== instance.instanceId) continue;
      if (found.node.state === "running") {
        await redeemLaunchToken(ctx, found.node.id, nodeLaunchToken(ctx.serverSecret, found.node.id, found.node.attempt), instance.instanceId, instance.privateIp);
      }
      const node = (await getNode(ctx, instance.nodeId))?.node;
      if (node?.state !== "ready") continue;
      for (const [project, workerId] of Object.entries(node.workers)) {
        const placed = (await listWorkerReplicas(ctx, workerId)).map((r) => r.record);
        await heartbeat(ctx, { project, workerId }, {
          host: { hostname: instance.instanceId, advertise_host: instance.privateIp as string, gpus: [] },
          replicas: placed.map((r) => ({
            replica_id: r.id,
            port: r.port,
            restarts: 0,
            ...(failing.has(r.id) ? { state: "failed" as const, exit_code: 1 } : { state: r.desired === "stopped" ? ("stopped" as const) : ("ready" as const) }),
          })),
        });
      }
    }
  };

  const tick = async (seconds = 30) => {
    clock += seconds * 1000;
    await agents();
    const outcomes = await reconcileAll(ctx, compute);
    await agents();
    return outcomes;
  };

  return {
    ctx,
    admin,
    provider,
    compute,
    log,
    tick,
    advance: (ms: number) => {
      clock += ms;
    },
    now: () => clock,
    failReplica: (replicaId: string) => failing.add(replicaId),
    ensure: (spec: unknown) => ensureWorkload(ctx, admin, "acme", spec),
    cold: (slug: string) => recordColdRequest(ctx, "acme", slug),
    status: async (slug: string) => (await getWorkload(ctx, admin, "acme", slug)).status,
    nodes: async (): Promise<NodeRecord[]> => (await listNodes(ctx)).map((n) => n.node),
    /** Replicas of a workload wanted running, with their workers. */
    running: async (slug: string) => {
      const nodes = (await listNodes(ctx)).map((n) => n.node);
      const out: { id: string; worker: string; node?: string; gpus: number[] }[] = [];
      for (const node of nodes) {
        for (const workerId of Object.values(node.workers)) {
          for (const r of await listWorkerReplicas(ctx, workerId)) {
            if (r.record.workload === slug && r.record.desired === "running") out.push({ id: r.record.id, worker: workerId, node: node.id, gpus: r.record.gpu_indexes });
          }
        }
      }
      return out;
    },
  };
}
