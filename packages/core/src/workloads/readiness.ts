import { type PlacedStatus, readPlacedStatus } from "../capacity/status";
import type { PlatformContext } from "../platform/context";
import { listWorkloadReplicas, type ReplicaRecord } from "../replicas";
import type { Principal } from "../tokens";
import { isWorkerOnline, listProjectWorkers, type WorkerRecord } from "../workers";
import { getWorkloadRecord, view, type WorkloadRecord, type WorkloadView } from "./index";

/**
 * How far a workload is from serving, in the order a cold start goes through: the controller has
 * not placed a replica yet (`scheduling`), a replica waits for its (private) worker to come online
 * (`placing`), a node of the platform's capacity comes up or the worker launches the replica
 * (`launching`), the backend fetches
 * its model (`pulling`), the backend process runs but does not answer yet (`starting`), a replica
 * serves (`ready`). `error`: it will not get there without a change (the reason says why).
 */
export const READINESS_PHASES = ["scheduling", "placing", "launching", "pulling", "starting", "ready"] as const;
export type ReadinessPhase = (typeof READINESS_PHASES)[number] | "error";

export interface Readiness {
  phase: ReadinessPhase;
  message: string;
}

/** 1-based position of a phase in READINESS_PHASES (`error` has none: 0). */
export function readinessStep(phase: ReadinessPhase): number {
  return phase === "error" ? 0 : READINESS_PHASES.indexOf(phase) + 1;
}

/** What the readiness of a workload is derived from: its view (policy, conditions) and its replicas' workers. */
export interface ReadinessInputs {
  record: WorkloadRecord;
  view: WorkloadView;
  replicas: readonly ReplicaRecord[];
  workers: readonly WorkerRecord[];
  /** On shared cloud capacity: the workload's last placement outcome (a node being launched for it, or why none fits). */
  placed?: PlacedStatus;
  now: Date;
}

/** A backend reporting that it fetches its model (ollama's pull, a download in progress). */
const PULLING_REASON = /\b(pull|pulling|download|downloading|fetching)\b/i;

/** The readiness a workload's stored state shows: a pure function of it, so every reader agrees. */
export function readinessOf(inputs: ReadinessInputs): Readiness {
  const { record, view: shown, replicas, workers, placed, now } = inputs;
  const accepted = shown.status.conditions.find((c) => c.type === "Accepted");
  if (accepted?.status === "False") return { phase: "error", message: accepted.message };
  if (shown.status.ready_replicas > 0) {
    return { phase: "ready", message: `${shown.status.ready_replicas}/${Math.max(shown.status.desired_replicas, 1)} replica(s) ready` };
  }
  const running = replicas.filter((r) => r.desired === "running" && r.phase !== "stopped" && r.phase !== "stopping");
  const active = running.filter((r) => r.phase !== "failed");
  if (active.length === 0) {
    const failed = running.filter((r) => r.generation === record.runtime_generation).sort((a, b) => b.updated_at.localeCompare(a.updated_at))[0];
    if (failed !== undefined) {
      const retry = failed.next_retry_at === undefined ? "" : `; the platform retries at ${failed.next_retry_at}`;
      return { phase: "error", message: `replica ${failed.id} failed: ${failed.reason ?? "the backend exited"}${retry}` };
    }
    if (shown.status.desired_replicas === 0) return { phase: "scheduling", message: `no replica wanted now: ${shown.status.decision}` };
    if (placed !== undefined && !placed.placed && placed.generation === record.generation) {
      // Shared cloud capacity: a node is being launched for the replica, or none fits yet (and why).
      return placed.reason === "AwaitingNode"
        ? { phase: "launching", message: `launching a node: ${placed.message}` }
        : { phase: "placing", message: `waiting for capacity (${placed.reason}): ${placed.message}` };
    }
    return { phase: "scheduling", message: `waiting for the controller to place ${shown.status.desired_replicas} replica(s): ${shown.status.decision}` };
  }
  const byWorker = new Map(workers.map((w) => [w.id, w]));
  // The replica furthest along tells how close the workload is.
  const phases = active.map((replica) => replicaReadiness(replica, byWorker.get(replica.worker_id), now));
  return phases.reduce((best, next) => (readinessStep(next.phase) > readinessStep(best.phase) ? next : best));
}

function replicaReadiness(replica: ReplicaRecord, worker: WorkerRecord | undefined, now: Date): Readiness {
  if (!isWorkerOnline(worker, now)) {
    if (worker?.managed_by === "platform") {
      return { phase: "launching", message: `launching worker ${replica.worker_id} for replica ${replica.id}` };
    }
    return { phase: "placing", message: `replica ${replica.id} waits for worker ${replica.worker_id} to come online` };
  }
  if (replica.phase === "pending") return { phase: "launching", message: `worker ${replica.worker_id} is launching replica ${replica.id}` };
  if (replica.phase === "starting" && replica.reason !== undefined && PULLING_REASON.test(replica.reason)) {
    return { phase: "pulling", message: `pulling ${replica.model}: ${replica.reason.slice(0, 300)}` };
  }
  return {
    phase: "starting",
    message: `starting ${replica.backend} for ${replica.model} on ${replica.worker_id}${replica.reason === undefined ? "" : ` (${replica.reason.slice(0, 300)})`}`,
  };
}

/** Reads a workload's readiness now (the caller must be allowed to see it: NotFoundError otherwise). */
export async function readWorkloadReadiness(ctx: PlatformContext, principal: Principal, project: string, slug: string): Promise<Readiness> {
  const record = await getWorkloadRecord(ctx, principal, project, slug);
  const [shown, replicas, workers, placed] = await Promise.all([
    view(ctx, record),
    listWorkloadReplicas(ctx, project, slug),
    listProjectWorkers(ctx, project),
    readPlacedStatus(ctx, project, slug),
  ]);
  return readinessOf({
    record,
    view: shown,
    replicas: replicas.map((r) => r.record),
    workers,
    ...(placed === undefined ? {} : { placed }),
    now: ctx.now(),
  });
}
