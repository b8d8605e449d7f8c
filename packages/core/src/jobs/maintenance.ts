import type { EventPublisher } from "../events/lifecycle";
import { isServing } from "../gateway/route-table";
import { keys, type PlatformContext } from "../platform/context";
import { listWorkloadReplicas } from "../replicas";
import { queryAll } from "../store";
import { type WorkloadRecord, workloadIncarnation } from "../workloads";
import { isJobTaskType } from "./schema";
import { type JobsServiceDeps, maintainWorkloadJobs } from "./service";

/** Workloads that take jobs, across every project (the controller's tick walks the same items). */
export async function jobWorkloads(ctx: PlatformContext): Promise<WorkloadRecord[]> {
  const out: WorkloadRecord[] = [];
  for (const projectItem of await queryAll(ctx.store, { pk: keys.org(), skPrefix: keys.projectPrefix() })) {
    const project = (projectItem.data as { slug: string }).slug;
    for (const item of await queryAll(ctx.store, { pk: keys.workload(project, "").pk, skPrefix: keys.workloadPrefix() })) {
      const record = item.data as unknown as WorkloadRecord;
      if (record.deleted_at === undefined && isJobTaskType(record.spec.task_type)) out.push(record);
    }
  }
  return out;
}

/** Whether a workload has a ready replica of its current life. */
export async function hasReadyReplica(ctx: PlatformContext, record: WorkloadRecord): Promise<boolean> {
  const incarnation = workloadIncarnation(record);
  return (await listWorkloadReplicas(ctx, record.project, record.slug)).some(
    ({ record: replica }) => isServing(replica) && (replica.incarnation === undefined || replica.incarnation === incarnation),
  );
}

/**
 * The controller's job upkeep over every job-taking workload (`maintainWorkloadJobs` for each):
 * called from each tick (the local platform's timer; the AWS controller's scheduled tick).
 */
export async function maintainAllJobs(
  deps: JobsServiceDeps & { events?: EventPublisher },
  options: { staleAfterSeconds: number; maxAttempts: number },
): Promise<{ requeued: number; expired: number }> {
  let requeued = 0;
  let expired = 0;
  for (const record of await jobWorkloads(deps.ctx)) {
    const ready = await hasReadyReplica(deps.ctx, record);
    const outcome = await maintainWorkloadJobs(deps, record.project, record.slug, { ...options, replicaReady: ready });
    requeued += outcome.requeued;
    expired += outcome.expired;
  }
  return { requeued, expired };
}
