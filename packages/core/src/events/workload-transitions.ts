import { ConditionFailedError } from "../errors";
import { isServing } from "../gateway/route-table";
import { keys, type PlatformContext } from "../platform/context";
import { listWorkloadReplicas } from "../replicas";
import { type WorkloadRecord, workloadIncarnation } from "../workloads";
import type { EventPublisher, LifecycleEvent } from "./lifecycle";

/** What was last published for a workload, kept in the store so every controller (a Lambda tick) sees it. */
interface PublishedState {
  desired: number;
  ready: boolean;
}

/** Per life of the slug, so a re-created workload starts from nothing. */
function stateKey(project: string, workload: string, incarnation: string): { pk: string; sk: string } {
  return { pk: `WLSTATE#${project}#${workload}`, sk: `LIFECYCLE#${incarnation}` };
}

/** A deleted workload's state goes with DynamoDB's TTL; a live one's is rewritten well before (each change, or this often). */
const STATE_RETENTION_SECONDS = 90 * 86_400;

/** Ready replicas of the workload's current life. */
export async function readyReplicaCount(ctx: PlatformContext, record: WorkloadRecord): Promise<number> {
  const incarnation = workloadIncarnation(record);
  return (await listWorkloadReplicas(ctx, record.project, record.slug)).filter(
    ({ record: replica }) => isServing(replica) && (replica.incarnation === undefined || replica.incarnation === incarnation),
  ).length;
}

/**
 * `workload.scaled` (its desired replicas changed) and `workload.ready` (it went from no ready
 * replica to one) for a controller without memory between runs (the AWS tick): the last published
 * state is a store item, replaced conditionally, and events go out only after the write won, so two
 * overlapping ticks publish a transition once. The first observation of a workload publishes no
 * `workload.scaled` (there is no "from"), and `workload.ready` if it is ready. Returns the events
 * published (publishing itself never throws: the port's adapters log and drop).
 */
export async function publishWorkloadTransitions(
  ctx: PlatformContext,
  events: EventPublisher,
  observed: { project: string; workload: string; incarnation: string; desired: number; readyReplicas: number },
): Promise<LifecycleEvent[]> {
  const key = stateKey(observed.project, observed.workload, observed.incarnation);
  const item = await ctx.store.get(key.pk, key.sk);
  const before = item?.data as PublishedState | undefined;
  const now: PublishedState = { desired: observed.desired, ready: observed.readyReplicas > 0 };
  const nowSeconds = Math.floor(ctx.now().getTime() / 1000);
  const fresh = item?.expiresAt !== undefined && item.expiresAt - nowSeconds > STATE_RETENTION_SECONDS / 2;
  if (before !== undefined && before.desired === now.desired && before.ready === now.ready && fresh) return [];
  try {
    await ctx.store.put(
      { ...key, expiresAt: nowSeconds + STATE_RETENTION_SECONDS, data: { ...now } },
      item === undefined ? { kind: "absent" } : { kind: "version", version: item.version },
    );
  } catch (error) {
    // Another controller recorded this observation first and publishes it.
    if (error instanceof ConditionFailedError) return [];
    throw error;
  }
  const at = ctx.now().toISOString();
  const out: LifecycleEvent[] = [];
  if (before !== undefined && before.desired !== now.desired) {
    out.push({ type: "workload.scaled", project: observed.project, workload: observed.workload, from: before.desired, to: now.desired, at });
  }
  if (now.ready && !(before?.ready ?? false)) {
    out.push({ type: "workload.ready", project: observed.project, workload: observed.workload, ready_replicas: observed.readyReplicas, at });
  }
  if (out.length > 0) await events.publish(out);
  return out;
}

/** The tick's pass over its outcomes: each workload it reconciled (not skipped, still existing) observed and published. */
export async function publishReconciledTransitions(
  ctx: PlatformContext,
  events: EventPublisher,
  outcomes: readonly { project: string; workload: string; desired: number; skipped?: boolean }[],
): Promise<number> {
  let published = 0;
  for (const outcome of outcomes) {
    if (outcome.skipped === true || outcome.desired < 0) continue;
    const item = await ctx.store.get(keys.workload(outcome.project, outcome.workload).pk, keys.workload(outcome.project, outcome.workload).sk);
    const record = item?.data as WorkloadRecord | undefined;
    if (record === undefined || record.deleted_at !== undefined) continue;
    const readyReplicas = await readyReplicaCount(ctx, record);
    const observed = { project: outcome.project, workload: outcome.workload, incarnation: workloadIncarnation(record), desired: outcome.desired, readyReplicas };
    published += (await publishWorkloadTransitions(ctx, events, observed)).length;
  }
  return published;
}
