import { createHash, createHmac } from "node:crypto";
import type { ReplicaLoad } from "../agent-protocol";
import { ConditionFailedError } from "../errors";
import type { PlatformContext } from "../platform/context";
import { queryAll, type StoreItem, type TransactCondition } from "../store";

export const REPLICA_PHASES = ["pending", "starting", "ready", "failed", "stopping", "stopped"] as const;
export type ReplicaPhase = (typeof REPLICA_PHASES)[number];

/**
 * One replica of a workload: the controller's intent (`desired`, placement) and the agent's report
 * (`phase`, reason, load). Its id derives from workload, slot and runtime generation, so two
 * controllers that decide the same thing write the same item and the create-only write lets one win.
 */
export interface ReplicaRecord {
  id: string;
  project: string;
  workload: string;
  slot: number;
  generation: number;
  worker_id: string;
  host: string;
  port: number;
  /**
   * The certificate fingerprint of the worker's replica front, as its agent last reported it: the
   * gateway reaches the replica over TLS and accepts only this certificate. Absent: plain HTTP.
   */
  front_certificate_sha256?: string;
  /** The machine the port is claimed on (`portMachine` of the worker); absent on replicas claimed per worker. */
  port_machine?: string;
  desired: "running" | "stopped";
  phase: ReplicaPhase;
  reason?: string;
  exit_code?: number | null;
  stderr_tail?: string[];
  restarts: number;
  load?: ReplicaLoad;
  backend: string;
  task_type: string;
  model: string;
  command: string;
  vllm_version?: string;
  gpu_indexes: number[];
  /** Nominal price per hour of the capacity it occupies (cost ceiling accounting). */
  hourly_price_usd: number;
  created_at: string;
  updated_at: string;
  ready_at?: string;
  last_report_at?: string;
  /** How many times the controller replaced this slot's failed replica in this generation (0 or absent: never). */
  attempt?: number;
  /** Failed runs of this slot since it was last ready: the controller's retry backoff grows with it. */
  failures_in_a_row?: number;
  /** Set once the replica is failed: when the controller replaces it (new id, new port, another worker if free). */
  next_retry_at?: string;
  /**
   * The workload incarnation this replica serves (`workloadIncarnation`). The gateway never routes
   * to a replica of another incarnation (a deleted and re-created slug's old replicas, still stopping).
   */
  incarnation?: string;
}

export const replicaKeys = {
  workload: (project: string, workload: string) => `REP#${project}#${workload}`,
  sort: (slot: number, generation: number) => `${String(slot).padStart(4, "0")}#${String(generation).padStart(8, "0")}`,
  byWorker: (workerId: string) => `WRKREP#${workerId}`,
  /** Claims are per machine: two workers on one box (every project's local worker) must not share a port. */
  port: (machine: string, port: number) => ({ pk: `PORT#${machine}`, sk: String(port) }),
};

/**
 * Derived, so every controller computes the same id for the same slot: from the workload
 * incarnation too, so a slug deleted and re-created never gets a former replica's id, nor the replica
 * secret derived from it. A retry (`attempt` > 0) gets an id of its own, so an agent still holding
 * the failed replica's supervisor sees a new assignment rather than one it already gave up on.
 */
export function replicaId(project: string, workload: string, slot: number, generation: number, incarnation: string, attempt = 0): string {
  const name = `${project}/${workload}/${incarnation}/${slot}/${generation}${attempt > 0 ? `/${attempt}` : ""}`;
  const digest = createHash("sha256").update(name).digest("base64url");
  return `rep_${digest.replace(/[-_]/g, "").slice(0, 16)}`;
}

/** The replica's secret, derived rather than stored: the agent gets it in its assignment, the gateway derives it. */
export function replicaSecret(serverSecret: string, id: string): string {
  return `ik_rep_${createHmac("sha256", serverSecret).update(`replica:${id}`).digest("base64url").slice(0, 32)}`;
}

export interface StoredReplica {
  record: ReplicaRecord;
  item: StoreItem;
}

export async function listWorkloadReplicas(ctx: PlatformContext, project: string, workload: string): Promise<StoredReplica[]> {
  const items = await queryAll(ctx.store, { pk: replicaKeys.workload(project, workload) });
  return items.map((item) => ({ record: item.data as unknown as ReplicaRecord, item }));
}

/** Replicas placed on a worker. Index reads can lag; callers re-read items before writing. */
export async function listWorkerReplicas(ctx: PlatformContext, workerId: string): Promise<StoredReplica[]> {
  const items = await queryAll(ctx.store, { pk: replicaKeys.byWorker(workerId), index: "gsi1" });
  return items.map((item) => ({ record: item.data as unknown as ReplicaRecord, item }));
}

function itemFor(record: ReplicaRecord) {
  return {
    pk: replicaKeys.workload(record.project, record.workload),
    sk: replicaKeys.sort(record.slot, record.generation),
    gsi1pk: replicaKeys.byWorker(record.worker_id),
    gsi1sk: record.id,
    data: { ...record },
  };
}

/** Create-only: returns false when the replica already exists (another controller got there first). */
export async function createReplica(ctx: PlatformContext, record: ReplicaRecord): Promise<boolean> {
  try {
    await ctx.store.put(itemFor(record), { kind: "absent" });
    return true;
  } catch (error) {
    if (error instanceof ConditionFailedError) return false;
    throw error;
  }
}

/** Read-modify-write with retry on conflict. `change` returns undefined to leave the replica as it is. */
export async function updateReplica(
  ctx: PlatformContext,
  project: string,
  workload: string,
  slot: number,
  generation: number,
  change: (record: ReplicaRecord) => ReplicaRecord | undefined,
): Promise<ReplicaRecord | undefined> {
  const pk = replicaKeys.workload(project, workload);
  const sk = replicaKeys.sort(slot, generation);
  for (let attempt = 0; attempt < 10; attempt++) {
    const item = await ctx.store.get(pk, sk);
    if (!item) return undefined;
    const next = change(item.data as unknown as ReplicaRecord);
    if (next === undefined) return item.data as unknown as ReplicaRecord;
    try {
      await ctx.store.put(itemFor(next), { kind: "version", version: item.version });
      return next;
    } catch (error) {
      if (!(error instanceof ConditionFailedError)) throw error;
    }
  }
  throw new ConditionFailedError(pk, sk);
}

export async function deleteReplica(ctx: PlatformContext, record: ReplicaRecord): Promise<void> {
  await ctx.store.delete(replicaKeys.workload(record.project, record.workload), replicaKeys.sort(record.slot, record.generation));
  await releasePort(ctx, record.port_machine ?? record.worker_id, record.port);
}

/** Ports replica fronts listen on (the node security group opens exactly this range). */
export const REPLICA_PORT_RANGE = { first: 20_000, last: 29_999 } as const;
const PORT_RANGE = REPLICA_PORT_RANGE;

/**
 * Claims a free port on a machine and writes the replica that uses it in one transaction: either
 * both land or neither does, so a controller that dies between the two (or a store failure) never
 * leaves a port claimed by no replica, nor a replica on an unclaimed port. `record(port)` is the
 * replica to write, under `condition` (absent: a new replica; version: replacing a failed one).
 * Returns the replica written, or undefined when the replica's condition failed (another controller
 * wrote it first), in which case no port stays claimed.
 */
export async function createReplicaOnFreePort(
  ctx: PlatformContext,
  machine: string,
  record: (port: number) => ReplicaRecord,
  condition: TransactCondition,
  usable: (port: number) => Promise<boolean> | boolean = () => true,
): Promise<ReplicaRecord | undefined> {
  const taken = new Set(
    (await queryAll(ctx.store, { pk: replicaKeys.port(machine, 0).pk })).map((item) => Number(item.sk)),
  );
  for (let port = PORT_RANGE.first; port <= PORT_RANGE.last; port++) {
    if (taken.has(port) || !(await usable(port))) continue;
    const replica = record(port);
    const portKey = replicaKeys.port(machine, port);
    try {
      await ctx.store.transact([
        { kind: "put", item: { ...portKey, data: { replica: replica.id } }, condition: { kind: "absent" } },
        { kind: "put", item: itemFor(replica), condition },
      ]);
      return replica;
    } catch (error) {
      if (!(error instanceof ConditionFailedError)) throw error;
      // Someone claimed this port meanwhile: try the next one. Any other part: the replica was written by another.
      if (error.pk !== portKey.pk || error.sk !== portKey.sk) return undefined;
    }
  }
  throw new Error(`no free port left on machine ${machine}`);
}

export async function releasePort(ctx: PlatformContext, machine: string, port: number): Promise<void> {
  const key = replicaKeys.port(machine, port);
  await ctx.store.delete(key.pk, key.sk, { kind: "any" });
}

/** How long a port another program holds is skipped by claims before it is tried again. */
export const BLOCKED_PORT_SECONDS = 600;

/**
 * An agent found the replica's port held by a program the platform does not manage: the claim
 * becomes a block (skipped by claims for BLOCKED_PORT_SECONDS) and the replica gets another port.
 * Conditional on the replica still having that port, so a repeated report moves it once.
 */
export async function reclaimPort(ctx: PlatformContext, replica: ReplicaRecord): Promise<ReplicaRecord | undefined> {
  const machine = replica.port_machine ?? replica.worker_id;
  const blocked = replica.port;
  const pk = replicaKeys.workload(replica.project, replica.workload);
  const sk = replicaKeys.sort(replica.slot, replica.generation);
  // The new port's claim and the move land together; a replica changed meanwhile (a heartbeat) is read again.
  for (let attempt = 0; attempt < 5; attempt++) {
    const item = await ctx.store.get(pk, sk);
    const current = item?.data as ReplicaRecord | undefined;
    if (item === undefined || current === undefined || current.port !== blocked || current.desired !== "running") return undefined;
    const moved = await createReplicaOnFreePort(
      ctx,
      machine,
      (port) => ({ ...current, port, port_machine: machine, updated_at: ctx.now().toISOString() }),
      { kind: "version", version: item.version },
    );
    if (moved === undefined) continue;
    const key = replicaKeys.port(machine, blocked);
    await ctx.store.put(
      { ...key, expiresAt: Math.floor(ctx.now().getTime() / 1000) + BLOCKED_PORT_SECONDS, data: { blocked_for: replica.id } },
      { kind: "any" },
    );
    return moved;
  }
  return undefined;
}
