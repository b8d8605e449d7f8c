import { DEFAULT_CATALOG, type GpuCatalog, roundUsd } from "../catalog";
import type { Compute, Placement } from "../compute";
import { ConditionFailedError } from "../errors";
import { keys, type PlatformContext } from "../platform/context";
import { choosePlacement, type PlacementCandidate, placementRequirements } from "../placement";
import { listWorkloadReplicas } from "../replicas";
import { fencedStore, queryAll } from "../store";
import { isWorkerOnline, storeWorker, type WorkerRecord } from "../workers";
import { policyState, type WorkloadRecord } from "../workloads";
import { idFor } from "../idempotency";
import { storedSecretDigest } from "../secrets";
import type { NodeProvider, OwnedInstance } from "./node-provider";
import {
  type Allocation,
  capacityKeys,
  getNode,
  listNodes,
  newNodeId,
  type NodeRecord,
  nodeLaunchToken,
  nodeWorkerToken,
  recordBoot,
  updateNode,
} from "./nodes";
import { type CapacitySettings, DEFAULT_CAPACITY_SETTINGS } from "./settings";
import { addEstimatedCost, writePlacedStatus } from "./status";

/** A replica waiting for room on a node; the pool reconciler launches nodes for fresh ones. */
interface DemandRecord {
  replica_id: string;
  project: string;
  workload: string;
  generation: number;
  /** Absent for a scheduled window's launch ahead (no replica yet). */
  slot?: number;
  /** When this replica first asked (kept across renewals). */
  since?: string;
  /** Cheapest first; what placement allowed under the workload's ceilings. */
  candidates: { instance_type: string; gpus: number; cuda_versions: string[]; replica_usd: number }[];
  /** The workload's pinned vLLM environment: a node serves it only if its install phase built that version. */
  vllm_version?: string;
  at: string;
  /** Set by the pool reconciler when it cannot launch for this demand (the deployment ceiling). */
  blocked?: { reason: "InsufficientCapacity" | "QuotaExceeded"; message: string };
  /** A scheduled window's replica launched ahead of the opening: wanted until then, and the node held a while after. */
  opens_at?: string;
  hold_until?: string;
}

/** A demand not renewed by its workload's reconcile for this long is stale (the workload no longer wants it). */
const DEMAND_TTL_MS = 3 * 60_000;
/** An allocation whose replica record never appeared is released after this long. */
const ALLOCATION_ORPHAN_MS = 3 * 60_000;
/** A terminated instance lingers in listings; a node whose instance vanished so recently may just be listed late. */
const LISTING_LAG_MS = 2 * 60_000;
/** How often scheduled workloads are scanned for windows to launch ahead of. */
const PREWARM_SCAN_MS = 60_000;
/** The pool reconciler's lease. */
const POOL_LEASE_MS = 60_000;

export interface SharedCloudComputeOptions {
  catalog?: GpuCatalog;
  log?: (line: string) => void;
  /** Identifies this controller in the pool lease. */
  controllerId?: string;
}

/**
 * Shared cloud capacity behind the Compute port: replicas take whole GPUs of nodes (GPU instances the
 * deployment owns, through the NodeProvider port), replicas of different workloads share a node, and
 * each workload is charged its GPUs' share of the node's price. Placement (under the workload's lease)
 * bin-packs onto existing nodes and records demand; the pool reconciler (`tick`, once per controller
 * tick under the pool lease) launches nodes for demand within the ceilings, adopts and replaces
 * nodes, consolidates empty ones and reaps instances with our tags that the store does not know.
 */
export class SharedCloudCompute implements Compute {
  readonly catalog: GpuCatalog;
  readonly settings: CapacitySettings;
  private readonly log: (line: string) => void;
  private readonly owner: string;

  constructor(
    private readonly provider: NodeProvider,
    settings: Partial<CapacitySettings> = {},
    options: SharedCloudComputeOptions = {},
  ) {
    this.settings = { ...DEFAULT_CAPACITY_SETTINGS, ...settings };
    this.catalog = options.catalog ?? DEFAULT_CATALOG;
    this.log = options.log ?? (() => undefined);
    this.owner = options.controllerId ?? `pool_${Math.random().toString(36).slice(2, 10)}`;
  }

  /** The share of one replica on its cheapest fit, for the autoscaler's cost ceiling (0 when nothing fits). */
  hourlyPrice(workload: WorkloadRecord): number {
    const choice = choosePlacement(this.catalog, this.settings.region, placementRequirements(this.catalog, workload.spec));
    return "candidates" in choice ? (choice.candidates[0]?.replicaUsd ?? 0) : 0;
  }

  async placeCloudReplica(ctx: PlatformContext, workload: WorkloadRecord, slot: number, replicaId?: string): Promise<Placement> {
    const id = replicaId ?? `${workload.project}/${workload.slug}/${slot}`;
    const { project, slug } = workload;
    const generation = workload.generation;
    const requirements = placementRequirements(this.catalog, workload.spec);
    const choice = choosePlacement(this.catalog, this.settings.region, requirements);
    if ("unplaced" in choice) {
      await writePlacedStatus(ctx, project, slug, { placed: false, reason: choice.unplaced, message: choice.message, generation });
      return { unavailable: `${choice.unplaced}: ${choice.message}` };
    }
    const nodes = (await listNodes(ctx)).map((n) => n.node);
    const held = nodes.find((n) => n.state !== "terminating" && n.allocations[id] !== undefined);
    if (held !== undefined) return this.onNode(ctx, held, workload, id);

    // The workload's ceilings bound its slots and the sum of their shares, as the autoscaler counts
    // them: a rolling update's replacement takes the budget of the slot it replaces (the other
    // slots' replicas are counted at their share, the most expensive one where a slot holds two).
    const bySlot = new Map<string, number>();
    for (const node of nodes) {
      if (node.state === "terminating") continue;
      for (const [replica, a] of Object.entries(node.allocations)) {
        if (a.project !== project || a.workload !== slug || a.slot === slot) continue;
        const key = a.slot === undefined ? replica : String(a.slot);
        bySlot.set(key, Math.max(bySlot.get(key) ?? 0, a.share_usd_per_hour));
      }
    }
    const spent = [...bySlot.values()].reduce((sum, share) => sum + share, 0);
    if (requirements.maxReplicas !== undefined && bySlot.size >= requirements.maxReplicas) {
      return { unavailable: `the workload holds ${bySlot.size} replica(s), its ceiling (max_workers / max_instances) is ${requirements.maxReplicas}` };
    }
    const affordable = choice.candidates.filter((c) => requirements.maxHourlyCostUsd === undefined || spent + c.replicaUsd <= requirements.maxHourlyCostUsd + 1e-9);
    if (affordable.length === 0) {
      return { unavailable: `the workload's replicas cost $${roundUsd(spent)}/h; one more ($${choice.candidates[0]?.replicaUsd}/h) would pass max_hourly_cost_usd ${requirements.maxHourlyCostUsd}` };
    }
    const blocked = await this.blockedTypes(ctx);
    const zones = await this.zonesByType(ctx, affordable.map((c) => c.instanceType));
    const launchable = affordable.filter((c) => !blocked.quota.has(c.instanceType) && (zones.get(c.instanceType) ?? []).length > 0);

    // A retry of a failed replica (a new attempt, a new id) may take the GPUs its failed attempt holds:
    // that process has exited, and the allocation moves to the new id in the same write.
    const failedAttempts = new Set(
      (await listWorkloadReplicas(ctx, project, slug)).map((r) => r.record).filter((r) => r.slot === slot && r.id !== id && r.phase === "failed").map((r) => r.id),
    );
    const usable = (node: NodeRecord) =>
      freeGpus({ gpu_count: node.gpu_count, allocations: Object.fromEntries(Object.entries(node.allocations).filter(([replica]) => !failedAttempts.has(replica))) });
    // Cheapest fit first, then the node with the fewest free GPUs.
    const fits = nodes
      .filter((n) => n.state !== "terminating")
      .flatMap((node) => {
        const candidate = affordable.find((c) => c.instanceType === node.instance_type && c.cudaVersions.includes(node.cuda_version));
        if (!hasVllmEnvironment(node, vllmVersionOf(workload))) return [];
        const free = usable(node);
        return candidate !== undefined && free.length >= candidate.gpus ? [{ node, candidate, free: free.length }] : [];
      })
      .sort((a, b) => a.candidate.replicaUsd - b.candidate.replicaUsd || a.free - b.free || a.node.id.localeCompare(b.node.id));
    for (const { node, candidate } of fits) {
      const allocated = await updateNode(ctx, node.id, (current) => {
        if (current.state === "terminating" || current.allocations[id] !== undefined) return undefined;
        const free = usable(current);
        if (free.length < candidate.gpus) return undefined;
        const allocation: Allocation = {
          project,
          workload: slug,
          slot,
          gpu_indexes: free.slice(0, candidate.gpus),
          share_usd_per_hour: roundUsd(candidate.perGpuUsd * candidate.gpus),
          at: ctx.now().toISOString(),
        };
        const { empty_since: _empty, ...rest } = current;
        const kept = Object.fromEntries(Object.entries(current.allocations).filter(([replica]) => !failedAttempts.has(replica)));
        return { ...rest, allocations: { ...kept, [id]: allocation } };
      });
      if (allocated?.allocations[id] !== undefined && allocated.state !== "terminating") {
        const demand = capacityKeys.demand(id);
        await ctx.store.delete(demand.pk, demand.sk, { kind: "any" });
        return this.onNode(ctx, allocated, workload, id);
      }
    }

    if (launchable.length === 0) {
      const reason = affordable.some((c) => blocked.quota.has(c.instanceType)) ? "QuotaExceeded" : "InsufficientCapacity";
      const message = affordable
        .map((c) => blocked.quota.get(c.instanceType) ?? `${c.instanceType}: no availability zone with capacity (${blocked.unavailable.get(c.instanceType) ?? "no zone offers it"})`)
        .join("; ");
      await writePlacedStatus(ctx, project, slug, { placed: false, reason, message, generation });
      return { unavailable: `${reason}: ${message}` };
    }
    const previous = (await ctx.store.get(capacityKeys.demand(id).pk, capacityKeys.demand(id).sk))?.data as DemandRecord | undefined;
    const at = ctx.now().toISOString();
    const vllmVersion = vllmVersionOf(workload);
    await this.writeDemand(
      ctx,
      { replica_id: id, project, workload: slug, generation, slot, since: previous?.since ?? at, candidates: launchable.map(wire), ...(vllmVersion === undefined ? {} : { vllm_version: vllmVersion }), at },
      previous,
    );
    if (previous?.blocked !== undefined) {
      await writePlacedStatus(ctx, project, slug, { placed: false, reason: previous.blocked.reason, message: previous.blocked.message, generation });
      return { unavailable: `${previous.blocked.reason}: ${previous.blocked.message}` };
    }
    const first = launchable[0] as PlacementCandidate;
    const message = `no node has ${first.gpus} free GPU(s) for it; a node will be launched (cheapest fit: ${first.gpus} GPU(s) of ${first.instanceType} at $${first.replicaUsd}/h)`;
    await writePlacedStatus(ctx, project, slug, { placed: false, reason: "AwaitingNode", message, generation });
    return { unavailable: message };
  }

  /** The workload's slots holding GPUs of a node (the controller keeps those with no replica record yet), or waiting for a node to be launched. */
  async awaitingCapacity(ctx: PlatformContext, workload: WorkloadRecord): Promise<{ slot: number; since: string }[]> {
    const out = new Map<number, string>();
    for (const { node } of await listNodes(ctx)) {
      if (node.state === "terminating") continue;
      for (const a of Object.values(node.allocations)) {
        if (a.project === workload.project && a.workload === workload.slug && a.slot !== undefined) out.set(a.slot, a.at);
      }
    }
    const now = ctx.now().getTime();
    for (const item of await queryAll(ctx.store, { pk: capacityKeys.partition(), skPrefix: capacityKeys.demandPrefix() })) {
      const demand = item.data as unknown as DemandRecord;
      if (demand.project !== workload.project || demand.workload !== workload.slug || demand.slot === undefined || demand.blocked !== undefined) continue;
      if (now - Date.parse(demand.at) < DEMAND_TTL_MS && !out.has(demand.slot)) out.set(demand.slot, demand.since ?? demand.at);
    }
    return [...out].map(([slot, since]) => ({ slot, since }));
  }

  async releaseCloudReplica(ctx: PlatformContext, _workerId: string, replicaId: string): Promise<void> {
    for (const { node } of await listNodes(ctx)) {
      if (node.allocations[replicaId] === undefined) continue;
      await updateNode(ctx, node.id, (current) => releaseAllocation(current, replicaId, ctx.now()));
    }
    await ctx.store.delete(capacityKeys.demand(replicaId).pk, capacityKeys.demand(replicaId).sk, { kind: "any" });
  }

  private poolRanAt = Number.NEGATIVE_INFINITY;

  /** The pool reconciler: run once per controller tick (at most every `poolIntervalMs`). */
  async tick(ctx: PlatformContext): Promise<void> {
    const now = ctx.now().getTime();
    if (now - this.poolRanAt < this.settings.poolIntervalMs) return;
    this.poolRanAt = now;
    const lease = await this.acquirePoolLease(ctx);
    if (lease === undefined) return;
    try {
      // Every write under the lease is fenced by it: a reconciler whose lease lapsed and was taken
      // over records no node (so launches none: the record comes before the call).
      await this.reconcilePool({ ...ctx, store: fencedStore(ctx.store, { ...capacityKeys.lease(), version: lease }) });
    } catch (error) {
      // One bad tick never stops the controller: the next one starts over from the store and the cloud.
      this.log(`capacity: pool reconcile failed (${errorText(error)}); retrying next tick`);
    } finally {
      await ctx.store.delete(capacityKeys.lease().pk, capacityKeys.lease().sk, { kind: "version", version: lease }).catch(() => undefined);
    }
  }

  /** A replica's placement on a node: its worker there, once the node is ready. */
  private async onNode(ctx: PlatformContext, node: NodeRecord, workload: WorkloadRecord, replicaId: string): Promise<Placement> {
    const allocation = node.allocations[replicaId] as Allocation;
    const placedMessage = `${allocation.gpu_indexes.length} GPU(s) of ${node.instance_type} (${node.gpu}) on node ${node.id} at $${allocation.share_usd_per_hour}/h`;
    if (node.state !== "ready" || node.dial_host === undefined) {
      const waiting = `${placedMessage}; waiting for the node to ${node.state === "launching" ? "launch" : "become ready"}`;
      await writePlacedStatus(ctx, workload.project, workload.slug, { placed: true, reason: "Placed", message: waiting, generation: workload.generation });
      return { unavailable: waiting };
    }
    const worker = await this.nodeWorker(ctx, node, workload.project);
    await writePlacedStatus(ctx, workload.project, workload.slug, { placed: true, reason: "Placed", message: placedMessage, generation: workload.generation });
    return { workerId: worker.id, hourlyPriceUsd: allocation.share_usd_per_hour, gpuIndexes: allocation.gpu_indexes };
  }

  /** The platform's worker for a project on a node (one per project: workers belong to projects), created on first use. */
  private async nodeWorker(ctx: PlatformContext, node: NodeRecord, project: string): Promise<WorkerRecord> {
    const workerId = node.workers[project] ?? idFor(ctx, "wrk", { scope: "node-worker", key: `${node.id}:${project}` });
    const key = keys.worker(project, workerId);
    const existing = (await ctx.store.get(key.pk, key.sk))?.data as WorkerRecord | undefined;
    const worker =
      existing ??
      (
        await storeWorker(
          ctx,
          project,
          { name: `${node.instance_type} ${node.id}`, labels: { "inferencekey.node": node.id } },
          nodeWorkerToken(ctx.serverSecret, node.id, project),
          workerId,
          { machine: node.id, ...(node.dial_host === undefined ? {} : { dialHost: node.dial_host }) },
        )
      ).worker;
    if (node.workers[project] === undefined) {
      await updateNode(ctx, node.id, (current) => (current.workers[project] === workerId ? undefined : { ...current, workers: { ...current.workers, [project]: workerId } }));
    }
    return worker;
  }

  private async writeDemand(ctx: PlatformContext, demand: DemandRecord, previous: DemandRecord | undefined): Promise<void> {
    const key = capacityKeys.demand(demand.replica_id);
    // Renewed at most once a minute: the TTL is minutes, a tick is seconds.
    if (previous !== undefined && ctx.now().getTime() - Date.parse(previous.at) < 60_000 && JSON.stringify(previous.candidates) === JSON.stringify(demand.candidates)) return;
    const data: DemandRecord = { ...demand, ...(previous?.blocked === undefined ? {} : { blocked: previous.blocked }) };
    await ctx.store.put({ ...key, expiresAt: Math.floor((ctx.now().getTime() + DEMAND_TTL_MS) / 1000) + 60, data: { ...data } }, { kind: "any" });
  }

  /** Instance types refused by a quota, and types with no zone left, with what to say. */
  private async blockedTypes(ctx: PlatformContext): Promise<{ quota: Map<string, string>; unavailable: Map<string, string> }> {
    const now = ctx.now().getTime();
    const quota = new Map<string, string>();
    for (const item of await queryAll(ctx.store, { pk: capacityKeys.partition(), skPrefix: capacityKeys.quotaPrefix() })) {
      const data = item.data as { instance_type: string; quota: string; message: string; until: number };
      if (data.until > now) quota.set(data.instance_type, `${data.instance_type}: quota "${data.quota}" reached (${data.message})`);
    }
    const unavailable = new Map<string, string>();
    for (const item of await queryAll(ctx.store, { pk: capacityKeys.partition(), skPrefix: capacityKeys.unavailablePrefix() })) {
      const data = item.data as { instance_type: string; availability_zone: string; code: string; until: number };
      if (data.until > now) unavailable.set(data.instance_type, `${unavailable.has(data.instance_type) ? `${unavailable.get(data.instance_type)}, ` : ""}${data.availability_zone}: ${data.code}`);
    }
    return { quota, unavailable };
  }

  /** Zones each type may be launched in now: offered there, not marked unavailable. */
  private async zonesByType(ctx: PlatformContext, types: readonly string[]): Promise<Map<string, string[]>> {
    const now = ctx.now().getTime();
    const unavailable = new Set<string>();
    for (const item of await queryAll(ctx.store, { pk: capacityKeys.partition(), skPrefix: capacityKeys.unavailablePrefix() })) {
      const data = item.data as { instance_type: string; availability_zone: string; until: number };
      if (data.until > now) unavailable.add(`${data.instance_type}@${data.availability_zone}`);
    }
    const offered = await this.offerings([...new Set(types)]);
    const out = new Map<string, string[]>();
    for (const type of types) out.set(type, (offered.get(type) ?? []).filter((zone) => !unavailable.has(`${type}@${zone}`)));
    return out;
  }

  private offeringsCache: { at: number; byType: Map<string, string[]> } | undefined;

  /** Offered zones per type (DescribeInstanceTypeOfferings through the provider, cached 10 minutes), else the configured zones. */
  private async offerings(types: readonly string[]): Promise<Map<string, string[]>> {
    const fallback = () => new Map(types.map((t) => [t, [...this.settings.availabilityZones]]));
    if (this.provider.offerings === undefined) return fallback();
    const now = Date.now();
    const cached = this.offeringsCache;
    if (cached !== undefined && now - cached.at < 10 * 60_000 && types.every((t) => cached.byType.has(t))) return cached.byType;
    try {
      const listed = await this.provider.offerings(this.catalog.data.instance_types.map((t) => t.instance_type));
      const byType = new Map<string, string[]>(this.catalog.data.instance_types.map((t) => [t.instance_type, []]));
      for (const o of listed) byType.get(o.instanceType)?.push(o.availabilityZone);
      for (const zones of byType.values()) zones.sort();
      this.offeringsCache = { at: now, byType };
      return byType;
    } catch (error) {
      this.log(`capacity: listing instance type offerings failed (${errorText(error)}); using the configured zones`);
      return fallback();
    }
  }

  private async acquirePoolLease(ctx: PlatformContext): Promise<number | undefined> {
    const key = capacityKeys.lease();
    const now = ctx.now().getTime();
    const current = await ctx.store.get(key.pk, key.sk);
    if (current && Number(current.data.until ?? 0) > now) return undefined;
    try {
      const written = await ctx.store.put(
        { ...key, data: { owner: this.owner, until: now + POOL_LEASE_MS } },
        current ? { kind: "version", version: current.version } : { kind: "absent" },
      );
      return written.version;
    } catch (error) {
      if (error instanceof ConditionFailedError) return undefined;
      throw error;
    }
  }

  private async reconcilePool(ctx: PlatformContext): Promise<void> {
    let owned: OwnedInstance[] | undefined;
    try {
      owned = await this.provider.listOwned();
    } catch (error) {
      this.log(`capacity: listing owned instances failed (${errorText(error)}); no launch or reaping this tick`);
    }
    for (const { node } of await listNodes(ctx)) {
      try {
        await this.reconcileNode(ctx, node, owned);
      } catch (error) {
        this.log(`capacity: node ${node.id}: ${errorText(error)}`);
      }
    }
    if (owned === undefined) return;
    await this.reapOrphans(ctx, owned);
    await this.prewarmScheduled(ctx);
    await this.launchForDemand(ctx, owned);
    await this.accountCost(ctx);
  }

  private async reconcileNode(ctx: PlatformContext, node: NodeRecord, owned: OwnedInstance[] | undefined): Promise<void> {
    const now = ctx.now();
    const instance = owned?.find((i) => (node.instance_id !== undefined ? i.instanceId === node.instance_id : i.nodeId === node.id && i.state !== "terminated"));
    switch (node.state) {
      case "launching": {
        if (instance !== undefined && instance.state !== "terminated" && instance.state !== "shutting-down") {
          // A launch whose response was lost: the instance carries the node id, adopt it.
          await this.adopt(ctx, node, instance);
          return;
        }
        if (owned === undefined) return;
        if (now.getTime() - Date.parse(node.created_at) > this.settings.nodeReadyTimeoutMs) {
          // Launch calls kept failing (retryable errors, lost answers) and no instance carries its id: give up on it.
          await this.dropUnlaunched(ctx, node, `no instance ${Math.round(this.settings.nodeReadyTimeoutMs / 60_000)} minutes after it was recorded (${node.last_error ?? "no answer"})`);
          return;
        }
        await this.launch(ctx, node);
        return;
      }
      case "running":
      case "ready": {
        if (owned !== undefined && (instance === undefined || instance.state === "terminated" || instance.state === "shutting-down" || instance.state === "stopped")) {
          const since = Date.parse(node.launched_at ?? node.created_at);
          if (instance !== undefined || now.getTime() - since > LISTING_LAG_MS) {
            await this.markTerminating(ctx, node.id, `its instance ${node.instance_id} is ${instance?.state ?? "gone"}`);
            return;
          }
        }
        if (node.state === "running") {
          if (await this.agentHeard(ctx, node)) {
            await this.markReady(ctx, node.id);
            return;
          }
          const launchedAt = Date.parse(node.launched_at ?? node.attempt_started_at);
          if (now.getTime() - launchedAt > this.settings.nodeReadyTimeoutMs) {
            await this.markTerminating(ctx, node.id, `not ready ${Math.round(this.settings.nodeReadyTimeoutMs / 60_000)} minutes after launch; replaced`);
            return;
          }
        }
        await this.consolidate(ctx, node);
        return;
      }
      case "terminating": {
        const gone = instance === undefined ? node.instance_id === undefined || owned !== undefined : instance.state === "terminated";
        if (!gone && (instance !== undefined || node.instance_id !== undefined)) {
          try {
            await this.provider.terminate([instance?.instanceId ?? (node.instance_id as string)]);
          } catch (error) {
            // Retried next tick: terminate is idempotent.
            this.log(`capacity: terminating ${node.id} failed (${errorText(error)}); retrying next tick`);
          }
          return;
        }
        if (owned === undefined) return;
        // The node's workers go with it (their tokens first: a worker without a token is unreachable, a token without a worker authenticates nothing).
        for (const [project, workerId] of Object.entries(node.workers)) {
          const token = keys.secret(storedSecretDigest(ctx, nodeWorkerToken(ctx.serverSecret, node.id, project)));
          await ctx.store.delete(token.pk, token.sk, { kind: "any" });
          const worker = keys.worker(project, workerId);
          await ctx.store.delete(worker.pk, worker.sk, { kind: "any" });
        }
        const key = capacityKeys.node(node.id);
        const current = await ctx.store.get(key.pk, key.sk);
        if (current !== undefined) await ctx.store.delete(key.pk, key.sk, { kind: "version", version: current.version }).catch(() => undefined);
        this.log(`capacity: node ${node.id} (${node.instance_type}) terminated`);
        return;
      }
    }
  }

  private async adopt(ctx: PlatformContext, node: NodeRecord, instance: OwnedInstance): Promise<void> {
    await updateNode(ctx, node.id, (current) =>
      current.state !== "launching"
        ? undefined
        : {
            ...current,
            state: "running",
            instance_id: instance.instanceId,
            availability_zone: instance.availabilityZone,
            launched_at: instance.launchedAt.toISOString(),
            ...dialHostOf(instance),
          },
    );
  }

  /** One launch call per node per tick, of the attempt already recorded: a capacity error moves to another offering next tick. */
  private async launch(ctx: PlatformContext, node: NodeRecord): Promise<void> {
    let outcome: Awaited<ReturnType<NodeProvider["launch"]>>;
    try {
      outcome = await this.provider.launch({
        nodeId: node.id,
        attempt: node.attempt,
        instanceType: node.instance_type,
        availabilityZone: node.availability_zone,
        cudaVersion: node.cuda_version,
        vllmVersions: node.vllm_versions ?? [],
        launchToken: nodeLaunchToken(ctx.serverSecret, node.id, node.attempt),
      });
    } catch (error) {
      // The response was lost: the same attempt (same ClientToken) is retried, so a launched instance is found, not doubled.
      await updateNode(ctx, node.id, (current) => (current.attempt !== node.attempt ? undefined : { ...current, last_error: errorText(error) }));
      return;
    }
    const now = ctx.now();
    switch (outcome.kind) {
      case "launched":
        await updateNode(ctx, node.id, (current) =>
          current.state !== "launching" || current.attempt !== node.attempt
            ? undefined
            : {
                ...current,
                state: "running",
                instance_id: outcome.instanceId,
                launched_at: now.toISOString(),
                ...dialHostOf(outcome),
              },
        );
        this.log(`capacity: node ${node.id} launched as ${outcome.instanceId} (${node.instance_type} in ${node.availability_zone}, attempt ${node.attempt})`);
        return;
      case "unavailable": {
        const key = capacityKeys.unavailable(node.instance_type, node.availability_zone);
        await ctx.store.put(
          {
            ...key,
            expiresAt: Math.floor((now.getTime() + this.settings.unavailableOfferingMs) / 1000) + 60,
            data: {
              instance_type: node.instance_type,
              availability_zone: node.availability_zone,
              code: outcome.code,
              message: outcome.message,
              until: now.getTime() + this.settings.unavailableOfferingMs,
            },
          },
          { kind: "any" },
        );
        const offering = `${node.instance_type}@${node.availability_zone}`;
        const zones = (await this.zonesByType(ctx, [node.instance_type])).get(node.instance_type) ?? [];
        const tried = new Set([...node.unavailable_offerings, offering]);
        const next = zones.find((zone) => !tried.has(`${node.instance_type}@${zone}`));
        if (next === undefined) {
          // Nowhere left for this type: drop the node; the replicas' next placement picks another type or reports it.
          await this.dropUnlaunched(ctx, node, `${offering}: ${outcome.code}`);
          return;
        }
        // A fallback is a new attempt, recorded before its call (next tick: no hot loop).
        await updateNode(ctx, node.id, (current) =>
          current.attempt !== node.attempt
            ? undefined
            : {
                ...current,
                attempt: current.attempt + 1,
                attempt_started_at: now.toISOString(),
                availability_zone: next,
                unavailable_offerings: [...tried],
                last_error: `${offering}: ${outcome.code}`,
              },
        );
        this.log(`capacity: ${offering} unavailable (${outcome.code}); node ${node.id} falls back to ${node.instance_type}@${next}`);
        return;
      }
      case "quota_exceeded": {
        const key = capacityKeys.quota(node.instance_type);
        await ctx.store.put(
          {
            ...key,
            expiresAt: Math.floor((now.getTime() + this.settings.quotaBackoffMs) / 1000) + 60,
            data: { instance_type: node.instance_type, quota: outcome.quota, code: outcome.code, message: outcome.message, until: now.getTime() + this.settings.quotaBackoffMs },
          },
          { kind: "any" },
        );
        await this.dropUnlaunched(ctx, node, `quota ${outcome.quota}: ${outcome.code}`);
        return;
      }
      case "failed":
        if (outcome.retryable) {
          await updateNode(ctx, node.id, (current) => (current.attempt !== node.attempt ? undefined : { ...current, last_error: `${outcome.code}: ${outcome.message}` }));
          return;
        }
        await this.dropUnlaunched(ctx, node, `${outcome.code}: ${outcome.message}`);
        return;
    }
  }

  /** A node that never got an instance: removed; its replicas place again. */
  private async dropUnlaunched(ctx: PlatformContext, node: NodeRecord, why: string): Promise<void> {
    const found = await getNode(ctx, node.id);
    if (found === undefined || found.node.instance_id !== undefined || found.node.attempt !== node.attempt) return;
    await ctx.store.delete(found.item.pk, found.item.sk, { kind: "version", version: found.item.version }).catch(() => undefined);
    this.log(`capacity: node ${node.id} not launched: ${why}`);
  }

  private async agentHeard(ctx: PlatformContext, node: NodeRecord): Promise<boolean> {
    for (const [project, workerId] of Object.entries(node.workers)) {
      const key = keys.worker(project, workerId);
      if (isWorkerOnline((await ctx.store.get(key.pk, key.sk))?.data as WorkerRecord | undefined, ctx.now())) return true;
    }
    return false;
  }

  /** Ready: replicas placed on it can start. Records how long the boot took, for launching ahead of scheduled windows. */
  async markReady(ctx: PlatformContext, nodeId: string): Promise<void> {
    const now = ctx.now();
    const node = await updateNode(ctx, nodeId, (current) => (current.state !== "running" ? undefined : { ...current, state: "ready", ready_at: now.toISOString() }));
    if (node?.ready_at !== now.toISOString()) return;
    await recordBoot(ctx, node.instance_type, now.getTime() - Date.parse(node.created_at));
  }

  private async markTerminating(ctx: PlatformContext, nodeId: string, why: string): Promise<void> {
    const now = ctx.now().toISOString();
    await updateNode(ctx, nodeId, (current) =>
      current.state === "terminating" ? undefined : { ...current, state: "terminating", terminating_since: now, terminate_reason: why, allocations: {} },
    );
    this.log(`capacity: node ${nodeId} terminating: ${why}`);
  }

  /** Empty nodes go after the grace period (a scheduled window's node is held until its opening); allocations whose replica never appeared are released. */
  private async consolidate(ctx: PlatformContext, node: NodeRecord): Promise<void> {
    const now = ctx.now().getTime();
    const stale: string[] = [];
    for (const [replicaId, allocation] of Object.entries(node.allocations)) {
      // Counted from when the replica could have been created: the allocation, or the node's readiness.
      const since = Math.max(Date.parse(allocation.at), Date.parse(node.ready_at ?? allocation.at));
      if (now - since < ALLOCATION_ORPHAN_MS) continue;
      const replicas = await listWorkloadReplicas(ctx, allocation.project, allocation.workload);
      const exists = replicas.some((r) => r.record.id === replicaId);
      const waiting = await ctx.store.get(capacityKeys.demand(replicaId).pk, capacityKeys.demand(replicaId).sk);
      if (!exists && waiting === undefined && node.state === "ready") stale.push(replicaId);
    }
    if (stale.length > 0) {
      await updateNode(ctx, node.id, (current) => stale.reduce<NodeRecord>((n, id) => releaseAllocation(n, id, ctx.now()) ?? n, current));
      return;
    }
    if (Object.keys(node.allocations).length > 0) return;
    if (node.empty_since === undefined) {
      await updateNode(ctx, node.id, (current) => (Object.keys(current.allocations).length > 0 || current.empty_since !== undefined ? undefined : { ...current, empty_since: ctx.now().toISOString() }));
      return;
    }
    const heldUntil = await this.heldUntil(ctx, node.id);
    if (now - Date.parse(node.empty_since) >= this.settings.emptyNodeGraceMs && (heldUntil === undefined || heldUntil <= now)) {
      const key = capacityKeys.node(node.id);
      const current = await ctx.store.get(key.pk, key.sk);
      const latest = current?.data as NodeRecord | undefined;
      if (current === undefined || latest === undefined || Object.keys(latest.allocations).length > 0) return;
      // Conditional on the version read empty: a placement that raced in keeps the node.
      await ctx.store
        .put({ ...key, data: { ...latest, state: "terminating", terminating_since: ctx.now().toISOString(), terminate_reason: "empty after the grace period" } }, { kind: "version", version: current.version })
        .then(() => this.log(`capacity: node ${node.id} empty for the grace period: terminating`))
        .catch(() => undefined);
    }
  }

  private async heldUntil(ctx: PlatformContext, nodeId: string): Promise<number | undefined> {
    const item = await ctx.store.get(capacityKeys.partition(), `HOLD#${nodeId}`);
    return item === undefined ? undefined : Number(item.data.until);
  }

  /** Instances with our tags the store does not know, once older than the grace period. Nothing without our tags is ever listed. */
  private async reapOrphans(ctx: PlatformContext, owned: OwnedInstance[]): Promise<void> {
    const nodes = (await listNodes(ctx)).map((n) => n.node);
    const known = new Set(nodes.flatMap((n) => (n.instance_id === undefined ? [] : [n.instance_id])));
    const adopting = new Set(nodes.filter((n) => n.state === "launching").map((n) => n.id));
    const now = ctx.now().getTime();
    const orphans = owned.filter(
      (i) =>
        i.state !== "terminated" &&
        i.state !== "shutting-down" &&
        !known.has(i.instanceId) &&
        !(i.nodeId !== undefined && adopting.has(i.nodeId)) &&
        now - i.launchedAt.getTime() >= this.settings.orphanGraceMs,
    );
    if (orphans.length === 0) return;
    try {
      await this.provider.terminate(orphans.map((i) => i.instanceId));
      this.log(`capacity: terminated ${orphans.length} instance(s) with our tags unknown to the store: ${orphans.map((i) => i.instanceId).join(", ")}`);
    } catch (error) {
      this.log(`capacity: reaping unknown instances failed (${errorText(error)}); retrying next tick`);
    }
  }

  /**
   * Scheduled workloads on shared capacity: a window's replicas are wanted at its opening, so
   * nodes are launched ahead of it by the boot time observed for their type.
   */
  private prewarmedAt = Number.NEGATIVE_INFINITY;

  private async prewarmScheduled(ctx: PlatformContext): Promise<void> {
    const now = ctx.now();
    // A scan of every workload: once a minute is enough for boot times counted in minutes.
    if (now.getTime() - this.prewarmedAt < PREWARM_SCAN_MS) return;
    this.prewarmedAt = now.getTime();
    for (const projectItem of await queryAll(ctx.store, { pk: keys.org(), skPrefix: keys.projectPrefix() })) {
      const project = (projectItem.data as { slug: string }).slug;
      for (const item of await queryAll(ctx.store, { pk: keys.workload(project, "").pk, skPrefix: keys.workloadPrefix() })) {
        const workload = item.data as unknown as WorkloadRecord;
        const spec = workload.spec;
        if (workload.deleted_at !== undefined || spec.execution_policy !== "scheduled" || spec.worker_id !== undefined) continue;
        const state = policyState(spec, now);
        if (state.desiredReplicas > 0 || state.nextChangeAt === undefined) continue;
        const choice = choosePlacement(this.catalog, this.settings.region, placementRequirements(this.catalog, spec));
        if (!("candidates" in choice)) continue;
        const first = choice.candidates[0] as PlacementCandidate;
        const opening = Date.parse(state.nextChangeAt);
        const boot = await observedBootMs(ctx, first.instanceType, this.settings.defaultBootMs);
        // The scan runs once a minute: a minute more of lead keeps the launch from landing after `opening - boot`.
        if (opening - now.getTime() > boot + PREWARM_SCAN_MS) continue;
        for (let slot = 0; slot < spec.execution_policy_config.replicas; slot++) {
          const id = `prewarm:${project}/${workload.slug}/${slot}/${state.nextChangeAt}`;
          const key = capacityKeys.demand(id);
          if ((await ctx.store.get(key.pk, key.sk)) !== undefined) continue;
          const demand: DemandRecord = {
            replica_id: id,
            project,
            workload: workload.slug,
            generation: workload.generation,
            candidates: choice.candidates.map(wire),
            ...(vllmVersionOf(workload) === undefined ? {} : { vllm_version: vllmVersionOf(workload) as string }),
            at: now.toISOString(),
            opens_at: state.nextChangeAt,
            hold_until: new Date(opening + 5 * 60_000).toISOString(),
          };
          await ctx.store.put({ ...key, expiresAt: Math.floor(opening / 1000) + 300, data: { ...demand } }, { kind: "any" });
          this.log(`capacity: ${project}/${workload.slug} opens ${state.nextChangeAt}; launching ahead by the observed boot time (${Math.round(boot / 1000)} s)`);
        }
      }
    }
  }

  /**
   * Launches nodes for demand no node has room for: cheapest candidate first, within the
   * deployment's ceiling, which counts every owned instance (pending, running, terminating and
   * unknown to the store) at its full price, its unused GPUs included.
   */
  private async launchForDemand(ctx: PlatformContext, owned: OwnedInstance[]): Promise<void> {
    const now = ctx.now();
    const demands = (await queryAll(ctx.store, { pk: capacityKeys.partition(), skPrefix: capacityKeys.demandPrefix() }))
      .map((item) => ({ item, demand: item.data as unknown as DemandRecord }))
      .filter(({ demand }) => (demand.opens_at !== undefined ? Date.parse(demand.opens_at) > now.getTime() : now.getTime() - Date.parse(demand.at) < DEMAND_TTL_MS))
      .sort((a, b) => a.demand.at.localeCompare(b.demand.at) || a.demand.replica_id.localeCompare(b.demand.replica_id));
    if (demands.length === 0) return;
    const nodes = (await listNodes(ctx)).map((n) => n.node);
    const bill = deploymentBill(nodes, owned, this.catalog, this.settings.region);
    // Free GPUs per live node, consumed as demands are matched (a simulation: placement allocates for real).
    const free = new Map(nodes.filter((n) => n.state !== "terminating").map((n) => [n.id, { node: n, free: freeGpus(n).length }]));
    const blocked = await this.blockedTypes(ctx);
    for (const { demand } of demands) {
      if (nodes.some((n) => n.allocations[demand.replica_id] !== undefined)) continue;
      const room = [...free.values()].find(({ node, free: count }) =>
        hasVllmEnvironment(node, demand.vllm_version) &&
        demand.candidates.some((c) => c.instance_type === node.instance_type && c.cuda_versions.includes(node.cuda_version) && count >= c.gpus),
      );
      if (room !== undefined) {
        const candidate = demand.candidates.find((c) => c.instance_type === room.node.instance_type) as DemandRecord["candidates"][number];
        room.free -= candidate.gpus;
        if (demand.hold_until !== undefined) await this.hold(ctx, room.node.id, demand.hold_until);
        continue;
      }
      const usable = demand.candidates.filter((c) => !blocked.quota.has(c.instance_type));
      let launched = false;
      let refusal: string | undefined;
      for (const candidate of usable) {
        const zones = (await this.zonesByType(ctx, [candidate.instance_type])).get(candidate.instance_type) ?? [];
        const zone = zones[0];
        const type = this.catalog.instanceType(candidate.instance_type);
        const price = this.catalog.instancePrice(candidate.instance_type, this.settings.region);
        if (zone === undefined || type === undefined || price === undefined) continue;
        if (bill.count + 1 > this.settings.maxInstances || bill.usd + price > this.settings.maxHourlyCostUsd + 1e-9) {
          refusal ??=
            `deployment ceiling: the deployment's instances (${bill.count}, $${roundUsd(bill.usd)}/h counting pending, running, terminating and unknown ones) ` +
            `plus one ${candidate.instance_type} ($${price}/h) would pass ${this.settings.maxInstances} instances / $${this.settings.maxHourlyCostUsd}/h`;
          continue;
        }
        const node: NodeRecord = {
          id: newNodeId(),
          state: "launching",
          instance_type: candidate.instance_type,
          gpu: type.gpu,
          gpu_count: type.gpu_count,
          price_usd_per_hour: price,
          region: this.settings.region,
          availability_zone: zone,
          cuda_version: candidate.cuda_versions[0] as string,
          ...(demand.vllm_version === undefined ? {} : { vllm_versions: [demand.vllm_version] }),
          attempt: 1,
          attempt_started_at: now.toISOString(),
          unavailable_offerings: [],
          created_at: now.toISOString(),
          allocations: {},
          workers: {},
        };
        // The attempt is recorded (create-only) before the provider is called.
        await ctx.store.put({ ...capacityKeys.node(node.id), data: { ...node } }, { kind: "absent" });
        bill.count += 1;
        bill.usd += price;
        nodes.push(node);
        free.set(node.id, { node, free: node.gpu_count - candidate.gpus });
        if (demand.hold_until !== undefined) await this.hold(ctx, node.id, demand.hold_until);
        this.log(`capacity: launching node ${node.id} (${node.instance_type} in ${zone}, $${price}/h) for ${demand.project}/${demand.workload}`);
        await this.launch(ctx, node);
        launched = true;
        break;
      }
      const blockedAs = launched
        ? undefined
        : refusal !== undefined
          ? { reason: "InsufficientCapacity" as const, message: refusal }
          : usable.length === 0
            ? { reason: "QuotaExceeded" as const, message: demand.candidates.map((c) => blocked.quota.get(c.instance_type) ?? c.instance_type).join("; ") }
            : { reason: "InsufficientCapacity" as const, message: `no availability zone has capacity for ${usable.map((c) => c.instance_type).join(", ")} right now` };
      if (JSON.stringify(blockedAs) !== JSON.stringify(demand.blocked)) {
        const key = capacityKeys.demand(demand.replica_id);
        const { blocked: _previous, ...rest } = demand;
        await ctx.store.put({ ...key, expiresAt: Math.floor((Date.parse(demand.at) + DEMAND_TTL_MS) / 1000) + 60, data: { ...rest, ...(blockedAs === undefined ? {} : { blocked: blockedAs }) } }, { kind: "any" });
      }
    }
  }

  private async hold(ctx: PlatformContext, nodeId: string, until: string): Promise<void> {
    await ctx.store.put({ pk: capacityKeys.partition(), sk: `HOLD#${nodeId}`, expiresAt: Math.floor(Date.parse(until) / 1000) + 60, data: { until: Date.parse(until) } }, { kind: "any" });
  }

  /** Each allocation's share x time since last accounted, into its workload's hour bucket. */
  private async accountCost(ctx: PlatformContext): Promise<void> {
    const now = ctx.now();
    const key = { pk: capacityKeys.partition(), sk: "COST-ACCOUNTED" };
    const mark = await ctx.store.get(key.pk, key.sk);
    const last = mark === undefined ? now.getTime() : Number(mark.data.at);
    await ctx.store.put({ ...key, data: { at: now.getTime() } }, mark === undefined ? { kind: "absent" } : { kind: "version", version: mark.version });
    if (mark === undefined || now.getTime() <= last) return;
    const totals = new Map<string, { project: string; workload: string; usd: number }>();
    for (const { node } of await listNodes(ctx)) {
      if (node.state === "terminating") continue;
      for (const allocation of Object.values(node.allocations)) {
        const from = Math.max(last, Date.parse(allocation.at));
        const hours = Math.max(0, now.getTime() - from) / 3_600_000;
        const k = `${allocation.project}/${allocation.workload}`;
        const entry = totals.get(k) ?? { project: allocation.project, workload: allocation.workload, usd: 0 };
        entry.usd += hours * allocation.share_usd_per_hour;
        totals.set(k, entry);
      }
    }
    for (const entry of totals.values()) await addEstimatedCost(ctx, entry.project, entry.workload, now, entry.usd);
  }
}

/** The vLLM environment a workload's replicas run from, when it pins one (`vllm_version` on the vllm backend). */
function vllmVersionOf(workload: WorkloadRecord): string | undefined {
  return workload.spec.backend === "vllm" ? workload.spec.vllm_version : undefined;
}

/** Whether a node's install phase built the environment a replica needs (none needed: any node). */
function hasVllmEnvironment(node: NodeRecord, version: string | undefined): boolean {
  return version === undefined || (node.vllm_versions ?? []).includes(version);
}

function wire(c: PlacementCandidate): DemandRecord["candidates"][number] {
  return { instance_type: c.instanceType, gpus: c.gpus, cuda_versions: c.cudaVersions, replica_usd: c.replicaUsd };
}

/** GPU indexes of a node no replica holds. */
export function freeGpus(node: Pick<NodeRecord, "gpu_count" | "allocations">): number[] {
  const used = new Set(Object.values(node.allocations).flatMap((a) => a.gpu_indexes));
  return Array.from({ length: node.gpu_count }, (_, i) => i).filter((i) => !used.has(i));
}

function releaseAllocation(node: NodeRecord, replicaId: string, now: Date): NodeRecord | undefined {
  if (node.allocations[replicaId] === undefined) return undefined;
  const { [replicaId]: _released, ...rest } = node.allocations;
  return { ...node, allocations: rest, ...(Object.keys(rest).length === 0 && node.empty_since === undefined ? { empty_since: now.toISOString() } : {}) };
}

/**
 * What the deployment pays per hour and how many instances it has: every node not yet confirmed
 * gone (launching, running, ready, terminating) and every owned instance the store does not know,
 * at the full instance price.
 */
export function deploymentBill(nodes: readonly NodeRecord[], owned: readonly OwnedInstance[], catalog: GpuCatalog, region: string): { usd: number; count: number } {
  let usd = 0;
  let count = 0;
  const known = new Set<string>();
  for (const node of nodes) {
    usd += node.price_usd_per_hour;
    count += 1;
    if (node.instance_id !== undefined) known.add(node.instance_id);
  }
  const byNode = new Set(nodes.map((n) => n.id));
  for (const instance of owned) {
    if (instance.state === "terminated" || known.has(instance.instanceId)) continue;
    // An instance a launching node will adopt is already counted with that node.
    if (instance.nodeId !== undefined && byNode.has(instance.nodeId) && nodes.some((n) => n.id === instance.nodeId && n.instance_id === undefined)) continue;
    usd += catalog.instancePrice(instance.instanceType, region) ?? 0;
    count += 1;
  }
  return { usd, count };
}

/** The functions run outside any VPC and reach nodes through the agent's front: the public address first. */
function dialHostOf(instance: { publicIp?: string; privateIp?: string }): { dial_host?: string } {
  const host = instance.publicIp ?? instance.privateIp;
  return host === undefined ? {} : { dial_host: host };
}

/** The median boot (record to ready) of recent nodes of a type, else the default. */
export async function observedBootMs(ctx: PlatformContext, instanceType: string, fallbackMs: number): Promise<number> {
  const item = await ctx.store.get(capacityKeys.partition(), `BOOT#${instanceType}`);
  const samples = [...((item?.data.samples as number[] | undefined) ?? [])].sort((a, b) => a - b);
  if (samples.length === 0) return fallbackMs;
  return samples[Math.floor(samples.length / 2)] as number;
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
