import { ConditionFailedError } from "../errors";
import { newId } from "../ids";
import type { PlatformContext } from "../platform/context";
import { timingSafeEqual } from "node:crypto";
import { deriveSecret, digestSecret } from "../secrets";
import { queryAll, type StoreItem } from "../store";

/**
 * Node records: the GPU instances the deployment owns, shared by the replicas of its workloads. One
 * item per node, every change a conditional write on its version. The controller (its pool
 * reconciler and placements) is their only writer, except `redeemLaunchToken` (the node's agent).
 */

export type NodeState =
  /** Recorded; the launch of `attempt` on the current offering is under way or to be retried with the same ClientToken. */
  | "launching"
  /** The instance exists; its agent has not registered yet. */
  | "running"
  /** The agent registered: replicas placed on it can start. */
  | "ready"
  /** To be terminated; the record goes once the cloud reports the instance gone. */
  | "terminating";

/** A replica's whole GPUs on a node, and its share of the node's price. */
export interface Allocation {
  project: string;
  workload: string;
  /** The replica's slot: a rolling update's replacement shares its slot's budget with the replica it replaces. */
  slot?: number;
  gpu_indexes: number[];
  share_usd_per_hour: number;
  at: string;
}

export interface NodeRecord {
  id: string;
  state: NodeState;
  instance_type: string;
  gpu: string;
  gpu_count: number;
  /** USD per instance-hour, from the catalog when the node was recorded. */
  price_usd_per_hour: number;
  region: string;
  /** The offering of the current attempt. */
  availability_zone: string;
  cuda_version: string;
  /** vLLM environments the node's install phase builds: the `vllm_version`s of the workloads it was launched for. */
  vllm_versions?: string[];
  /** Incremented by a conditional write before every launch call; part of the ClientToken. */
  attempt: number;
  attempt_started_at: string;
  /** Offerings (`type@az`) tried and found unfillable, for this node. */
  unavailable_offerings: string[];
  instance_id?: string;
  dial_host?: string;
  created_at: string;
  launched_at?: string;
  ready_at?: string;
  /** Set when the launch token was used (it is refused after). */
  launch_token_redeemed_at?: string;
  terminating_since?: string;
  terminate_reason?: string;
  /** Since when no replica holds a GPU of it (consolidation's grace period counts from here). */
  empty_since?: string;
  /** Replica id -> its GPUs. */
  allocations: Record<string, Allocation>;
  /** Project -> the platform's worker for that project on this node. */
  workers: Record<string, string>;
  /** Why the last launch call did not launch (a retryable failure or a lost response), shown in events. */
  last_error?: string;
}

export const capacityKeys = {
  partition: () => "CAPACITY",
  node: (nodeId: string) => ({ pk: "CAPACITY", sk: `NODE#${nodeId}` }),
  nodePrefix: () => "NODE#",
  /** A replica waiting for room: the pool reconciler launches nodes for these. */
  demand: (replicaId: string) => ({ pk: "CAPACITY", sk: `DEMAND#${replicaId}` }),
  demandPrefix: () => "DEMAND#",
  /** An offering (type, AZ) that could not be filled, until a time. */
  unavailable: (instanceType: string, zone: string) => ({ pk: "CAPACITY", sk: `UNAVAILABLE#${instanceType}#${zone}` }),
  unavailablePrefix: () => "UNAVAILABLE#",
  /** An account quota that refused a launch, until a time. */
  quota: (instanceType: string) => ({ pk: "CAPACITY", sk: `QUOTA#${instanceType}` }),
  quotaPrefix: () => "QUOTA#",
  /** One pool reconciler at a time: nodes are created and terminated only under it. */
  lease: () => ({ pk: "CAPACITY", sk: "LEASE" }),
  /** A workload's last placement outcome (its `Placed` condition). */
  placed: (project: string, slug: string) => ({ pk: `PRJ#${project}`, sk: `PLACED#${slug}` }),
  /** A workload's estimated cost, one item per UTC hour. */
  cost: (project: string, slug: string) => `COST#${project}#${slug}`,
} as const;

export function newNodeId(): string {
  return newId("node");
}

/** The one-time registration token of a node's launch attempt: derived, never stored (only its digest). */
export function nodeLaunchToken(serverSecret: string, nodeId: string, attempt: number): string {
  return deriveSecret("worker", serverSecret, `node-launch:${nodeId}:${attempt}`);
}

/** The token of the platform's worker for `project` on a node: derived, so the node's agent can be handed it and nothing stores it. */
export function nodeWorkerToken(serverSecret: string, nodeId: string, project: string): string {
  return deriveSecret("worker", serverSecret, `node-worker:${nodeId}:${project}`);
}

export async function listNodes(ctx: PlatformContext): Promise<{ item: StoreItem; node: NodeRecord }[]> {
  const items = await queryAll(ctx.store, { pk: capacityKeys.partition(), skPrefix: capacityKeys.nodePrefix() });
  return items.map((item) => ({ item, node: item.data as unknown as NodeRecord }));
}

export async function getNode(ctx: PlatformContext, nodeId: string): Promise<{ item: StoreItem; node: NodeRecord } | undefined> {
  const key = capacityKeys.node(nodeId);
  const item = await ctx.store.get(key.pk, key.sk);
  return item === undefined ? undefined : { item, node: item.data as unknown as NodeRecord };
}

/**
 * Applies `change` to a node with a conditional write, re-reading on a lost race (a few times).
 * `change` returns undefined to leave the node as it is. Returns the node as stored after.
 */
export async function updateNode(
  ctx: PlatformContext,
  nodeId: string,
  change: (node: NodeRecord) => NodeRecord | undefined,
  attempts = 4,
): Promise<NodeRecord | undefined> {
  for (let attempt = 1; ; attempt++) {
    const current = await getNode(ctx, nodeId);
    if (current === undefined) return undefined;
    const next = change(structuredClone(current.node));
    if (next === undefined) return current.node;
    try {
      const key = capacityKeys.node(nodeId);
      await ctx.store.put({ ...key, data: { ...next } }, { kind: "version", version: current.item.version });
      return next;
    } catch (error) {
      if (!(error instanceof ConditionFailedError) || attempt >= attempts) throw error;
    }
  }
}

/** Launch tokens are good for this long after their attempt started. */
export const LAUNCH_TOKEN_TTL_MS = 30 * 60 * 1000;

/**
 * The node's agent registers: the token must be the current attempt's, unused, at most 30 minutes
 * old, and presented for the instance the node launched. Marks the node ready (once: a reused token
 * is refused). Returns the node, or why it was refused (for the caller's 401/403, never echoing the token).
 */
export async function redeemLaunchToken(
  ctx: PlatformContext,
  nodeId: string,
  token: string,
  instanceId: string,
  dialHost?: string,
): Promise<{ node: NodeRecord } | { refused: string }> {
  const found = await getNode(ctx, nodeId);
  if (found === undefined) return { refused: `node ${nodeId} is unknown` };
  const { node } = found;
  const expected = nodeLaunchToken(ctx.serverSecret, node.id, node.attempt);
  if (!sameDigest(digestSecret(ctx.serverSecret, token), digestSecret(ctx.serverSecret, expected))) return { refused: "launch token does not match the node's current launch" };
  if (node.launch_token_redeemed_at !== undefined) return { refused: "launch token already used" };
  if (ctx.now().getTime() - Date.parse(node.attempt_started_at) > LAUNCH_TOKEN_TTL_MS) return { refused: "launch token expired (30 minutes)" };
  if (node.instance_id !== undefined && node.instance_id !== instanceId) return { refused: `launch token is bound to another instance than ${instanceId}` };
  if (node.state === "terminating") return { refused: `node ${nodeId} is terminating` };
  try {
    const now = ctx.now().toISOString();
    const next: NodeRecord = {
      ...node,
      state: "ready",
      instance_id: instanceId,
      ready_at: now,
      launch_token_redeemed_at: now,
      ...(dialHost === undefined ? {} : { dial_host: dialHost }),
    };
    await ctx.store.put({ ...capacityKeys.node(nodeId), data: { ...next } }, { kind: "version", version: found.item.version });
    await recordBoot(ctx, node.instance_type, ctx.now().getTime() - Date.parse(node.created_at));
    return { node: next };
  } catch (error) {
    if (error instanceof ConditionFailedError) return { refused: "launch token already used or the node changed; try again" };
    throw error;
  }
}

function sameDigest(a: string, b: string): boolean {
  return a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));
}

/** Boot durations remembered per instance type. */
const BOOT_SAMPLES = 10;

/** Records how long a node took from being recorded to ready (launching ahead of scheduled windows reads it). */
export async function recordBoot(ctx: PlatformContext, instanceType: string, ms: number): Promise<void> {
  const key = { pk: capacityKeys.partition(), sk: `BOOT#${instanceType}` };
  const current = await ctx.store.get(key.pk, key.sk);
  const samples = [...((current?.data.samples as number[] | undefined) ?? []), ms].slice(-BOOT_SAMPLES);
  await ctx.store.put({ ...key, data: { samples } }, current ? { kind: "version", version: current.version } : { kind: "absent" }).catch(() => undefined);
}

/**
 * What a node's agent runs: the platform's worker of each project with replicas on the node, and its
 * token (derived, never stored). For the agent API to hand to the node's agent once it has
 * registered with its launch token; the agent runs one worker loop per entry.
 */
export async function nodeAssignments(ctx: PlatformContext, nodeId: string): Promise<{ project: string; workerId: string; token: string }[]> {
  const node = (await getNode(ctx, nodeId))?.node;
  if (node === undefined || node.state !== "ready") return [];
  return Object.entries(node.workers).map(([project, workerId]) => ({ project, workerId, token: nodeWorkerToken(ctx.serverSecret, nodeId, project) }));
}
