import type { ReplicaRecord } from "../replicas";

export type PlanAction =
  | { kind: "create"; slot: number; generation: number }
  | { kind: "stop"; replica: ReplicaRecord; why: string }
  | { kind: "delete"; replica: ReplicaRecord; why: string }
  | { kind: "delete-workload" };

export interface PlanInput {
  /** Replicas the policy wants now (0 for a deleted workload). */
  desired: number;
  /** The workload's runtime generation: replicas of older generations are rolled. */
  generation: number;
  deleted: boolean;
  replicas: readonly ReplicaRecord[];
  /** False when the worker is gone or has been silent long enough to count its replicas as lost. */
  workerOnline: (workerId: string) => boolean;
  /** Rolling update surge: how many slots may run an old and a new replica at once. */
  maxSurge?: number;
}

/**
 * The pure diff of desired against actual. Level-triggered: the same input always gives the same
 * plan, and applying a plan twice is harmless (creates are create-only, stops and deletes idempotent).
 */
export function planReconcile(input: PlanInput): PlanAction[] {
  const actions: PlanAction[] = [];
  const desired = input.deleted ? 0 : input.desired;
  const maxSurge = input.maxSurge ?? 1;
  const running = input.replicas.filter((r) => r.desired === "running");

  // Gone for good: stopped by the agent, or assigned to a worker that no longer answers.
  for (const replica of input.replicas) {
    if (replica.desired === "stopped" && replica.phase === "stopped") {
      actions.push({ kind: "delete", replica, why: "stopped" });
    } else if (!input.workerOnline(replica.worker_id)) {
      actions.push({ kind: "delete", replica, why: `worker ${replica.worker_id} is offline` });
    }
  }
  const deleting = new Set(actions.map((a) => (a.kind === "delete" ? a.replica.id : "")));
  const alive = running.filter((r) => !deleting.has(r.id));

  // Slots beyond the desired count stop, whatever their generation.
  for (const replica of alive) {
    if (replica.slot >= desired) actions.push({ kind: "stop", replica, why: `scaling down to ${desired}` });
  }

  const currentOf = (slot: number) => alive.find((r) => r.slot === slot && r.generation === input.generation);
  const olderOf = (slot: number) => alive.filter((r) => r.slot === slot && r.generation < input.generation);
  // Rollouts already under way count against the surge before any new one starts.
  let surging = 0;
  for (let slot = 0; slot < desired; slot++) {
    const current = currentOf(slot);
    if (current !== undefined && current.phase !== "ready" && olderOf(slot).length > 0) surging++;
  }
  for (let slot = 0; slot < desired; slot++) {
    const current = currentOf(slot);
    const older = olderOf(slot);
    const newer = alive.filter((r) => r.slot === slot && r.generation > input.generation);
    for (const replica of newer) actions.push({ kind: "stop", replica, why: "generation rolled back" });
    if (current === undefined) {
      // A record deleted by this plan frees the slot now (deletes apply first); one the agent is still
      // stopping keeps its id until it reports stopped (ids derive from slot and generation).
      const stillPresent = input.replicas.some((r) => r.slot === slot && r.generation === input.generation && !deleting.has(r.id));
      if (stillPresent) continue;
      if (older.length > 0) {
        if (surging >= maxSurge) continue;
        surging++;
      }
      actions.push({ kind: "create", slot, generation: input.generation });
      continue;
    }
    if (older.length > 0 && current.phase === "ready") {
      for (const replica of older) actions.push({ kind: "stop", replica, why: `generation ${input.generation} is ready` });
    }
  }

  if (input.deleted && input.replicas.every((r) => deleting.has(r.id))) actions.push({ kind: "delete-workload" });
  return actions;
}
