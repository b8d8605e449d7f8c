import { type AutoscaleMemory, decideWorkers } from "../autoscale";
import { ConditionFailedError } from "../errors";
import { randomBase62 } from "../ids";
import type { Compute } from "../compute";
import { recordEvent } from "../events";
import { keys, type PlatformContext } from "../platform/context";
import {
  createReplicaOnFreePort,
  deleteReplica,
  listWorkloadReplicas,
  type ReplicaRecord,
  releasePort,
  replicaId,
  replicaKeys,
  updateReplica,
} from "../replicas";
import { isWorkerLost, isWorkerOnline, listProjectWorkers, portMachine, vouchedDialHost, type WorkerRecord } from "../workers";
import { invalidSpecDecision, policyState, type WorkloadRecord, workloadIncarnation } from "../workloads";
import { storedSpecProblem } from "../spec/validate";
import { type PlanAction, planReconcile } from "./plan";
import { type FailedRetryPolicy, planRetries, type RetryAction } from "./retry";
import { controllerKeys, type ControllerState, readControllerState } from "./state";
import { type Fence, fencedStore, queryAll } from "../store";


export interface ReconcileOutcome {
  project: string;
  workload: string;
  desired: number;
  decision: string;
  actions: (PlanAction["kind"] | RetryAction["kind"])[];
  /** True when another controller held the workload's lease, so this one did nothing. */
  skipped?: boolean;
}

/** Load signals beyond what replicas report: the gateway's request rate and held requests, queued jobs. */
export interface SignalSource {
  /** Servable requests per minute to this incarnation of the workload (a re-created slug starts from zero). */
  requestsPerMinute(project: string, workload: string, incarnation: string): Promise<number> | number;
  queuedJobs(project: string, workload: string): Promise<number> | number;
  /** The most requests the gateway held at once (no ready replica) since the last call; absent where it cannot be counted. */
  heldRequests?(project: string, workload: string): Promise<number> | number;
}

export const noSignals: SignalSource = { requestsPerMinute: () => 0, queuedJobs: () => 0 };

export interface ControllerOptions {
  signals?: SignalSource;
  /** Identifies this controller in leases (a Lambda invocation, a local process). */
  controllerId?: string;
  /** Lease length: a controller that dies holding it blocks the workload at most this long. */
  leaseSeconds?: number;
  /** When this controller started listening to heartbeats (a long-running local process). */
  watchingSince?: Date;
  /** Backoff of failed slots' retries (default 30 s doubling to 30 min). */
  failedRetry?: FailedRetryPolicy;
  /** Told whenever a workload's decision (its text or the replica count wanted) changes: the local terminal. */
  onDecision?: (change: DecisionChange) => void;
}

/** A workload's new decision, and the count wanted before it (absent the first time). */
export interface DecisionChange {
  project: string;
  workload: string;
  desired: number;
  previousDesired?: number;
  decision: string;
}

/**
 * The gateway found no ready replica for a servable request: remember it (durably, 2 minutes) so the
 * next reconcile scales up. With the workload's incarnation, only that life of the slug counts it.
 */
export async function recordColdRequest(ctx: PlatformContext, project: string, slug: string, incarnation?: string): Promise<void> {
  const now = ctx.now();
  await ctx.store.put(
    {
      ...controllerKeys.cold(project, slug),
      expiresAt: Math.floor(now.getTime() / 1000) + 120,
      data: { at: now.toISOString(), ...(incarnation === undefined ? {} : { incarnation }) },
    },
    { kind: "any" },
  );
}

/**
 * Per-workload lease with a fencing token (the lease item's version): a second reconcile running at
 * the same time skips the workload instead of racing, whoever runs it (the same controller id
 * included: two overlapping ticks of one controller are two reconciles). Every write made under the
 * lease goes through `fencedStore`, so a reconcile whose lease lapsed and was taken over writes
 * nothing more, and replica ids derived from (workload, slot, generation) are created create-only.
 */
async function acquireLease(ctx: PlatformContext, project: string, slug: string, owner: string, seconds: number): Promise<Fence | undefined> {
  const key = controllerKeys.lease(project, slug);
  const now = ctx.now().getTime();
  const current = await ctx.store.get(key.pk, key.sk);
  const lease = current?.data as { owner?: string; until?: number } | undefined;
  if (current && (lease?.until ?? 0) > now) return undefined;
  try {
    const written = await ctx.store.put(
      { ...key, data: { owner, until: now + seconds * 1000 } },
      current ? { kind: "version", version: current.version } : { kind: "absent" },
    );
    return { ...key, version: written.version };
  } catch (error) {
    if (error instanceof ConditionFailedError) return undefined;
    throw error;
  }
}

async function releaseLease(ctx: PlatformContext, fence: Fence): Promise<void> {
  await ctx.store.delete(fence.pk, fence.sk, { kind: "version", version: fence.version }).catch(() => undefined);
}

const defaultControllerId = `ctl_${randomBase62(10)}`;

/** Reconciles one workload: desired = policy(now), plan = diff(desired, actual), then apply. */
export async function reconcileWorkload(
  ctx: PlatformContext,
  compute: Compute,
  project: string,
  slug: string,
  options: ControllerOptions = {},
  /** The project's workers, when the caller already listed them for this tick (reconcileAll). */
  projectWorkers?: readonly WorkerRecord[],
): Promise<ReconcileOutcome | undefined> {
  const owner = options.controllerId ?? defaultControllerId;
  const fence = await acquireLease(ctx, project, slug, owner, options.leaseSeconds ?? 30);
  if (fence === undefined) return { project, workload: slug, desired: -1, decision: "another controller holds the lease", actions: [], skipped: true };
  try {
    return await reconcileUnderLease({ ...ctx, store: fencedStore(ctx.store, fence) }, compute, project, slug, options, projectWorkers);
  } finally {
    await releaseLease(ctx, fence);
  }
}

async function reconcileUnderLease(
  ctx: PlatformContext,
  compute: Compute,
  project: string,
  slug: string,
  options: ControllerOptions,
  projectWorkers: readonly WorkerRecord[] | undefined,
): Promise<ReconcileOutcome | undefined> {
  const key = keys.workload(project, slug);
  const item = await ctx.store.get(key.pk, key.sk);
  if (!item) return undefined;
  const workload = item.data as unknown as WorkloadRecord;
  const now = ctx.now();
  const deleted = workload.deleted_at !== undefined;
  const replicas = (await listWorkloadReplicas(ctx, project, slug)).map((r) => r.record);
  const workers = new Map((projectWorkers ?? (await listProjectWorkers(ctx, project))).map((w) => [w.id, w]));
  const incarnation = workloadIncarnation(workload);
  const stored = await readControllerState(ctx, project, slug);
  // The autoscaler's memory (last activity, stabilization) belongs to one life of the slug.
  const previous = stored?.incarnation === undefined || stored.incarnation === incarnation ? stored : { ...stored, autoscale: {} };
  // A spec stored under older rules may no longer validate: run nothing for it (its replicas stop).
  const problem = deleted ? undefined : storedSpecProblem(workload.spec);
  if (problem !== undefined) await recordEventOnce(ctx, workload, "SpecInvalid", problem);
  const { desired, decision, autoscale } = deleted
    ? { desired: 0, decision: "deleted: stopping every replica", autoscale: undefined }
    : problem !== undefined
      ? { desired: 0, decision: invalidSpecDecision(problem), autoscale: undefined }
      : await desiredNow(ctx, compute, workload, replicas, workers, previous, options.signals ?? noSignals);
  if (
    previous?.desired !== desired ||
    previous.decision !== decision ||
    previous.incarnation !== incarnation ||
    JSON.stringify(previous.autoscale) !== JSON.stringify(autoscale)
  ) {
    const stateKey = controllerKeys.state(project, slug);
    await ctx.store.put(
      { ...stateKey, data: { desired, decision, at: now.toISOString(), incarnation, ...(autoscale ? { autoscale } : {}) } },
      { kind: "any" },
    );
    if (previous?.desired !== desired && !deleted) {
      await recordEvent(ctx, project, slug, { type: "DesiredChanged", generation: workload.runtime_generation, message: decision });
    }
    if (previous?.desired !== desired || previous.decision !== decision) {
      options.onDecision?.({ project, workload: slug, desired, ...(previous === undefined ? {} : { previousDesired: previous.desired }), decision });
    }
  }
  const actions = planReconcile({
    desired,
    generation: workload.runtime_generation,
    deleted,
    replicas,
    workerOnline: (id) => !isWorkerLost(workers.get(id), now, options.watchingSince),
  });
  for (const action of actions) await apply(ctx, compute, workload, workers, action, item.version);
  const retries = planRetries({ desired, generation: workload.runtime_generation, deleted, replicas, now, ...(options.failedRetry ? { policy: options.failedRetry } : {}) });
  for (const retry of retries) await applyRetry(ctx, compute, workload, workers, retry);
  return { project, workload: slug, desired, decision, actions: [...actions.map((a) => a.kind), ...retries.map((r) => r.kind)] };
}

async function desiredNow(
  ctx: PlatformContext,
  compute: Compute,
  workload: WorkloadRecord,
  replicas: ReplicaRecord[],
  workers: Map<string, WorkerRecord>,
  previous: ControllerState | undefined,
  signals: SignalSource,
): Promise<{ desired: number; decision: string; autoscale?: AutoscaleMemory }> {
  const now = ctx.now();
  const spec = workload.spec;
  if (spec.execution_policy !== "autoscaling") {
    const state = policyState(spec, now);
    return { desired: state.desiredReplicas, decision: state.decision };
  }
  const config = spec.execution_policy_config;
  const running = replicas.filter((r) => r.desired === "running");
  const ready = running.filter((r) => r.phase === "ready");
  const incarnation = workloadIncarnation(workload);
  const coldKey = controllerKeys.cold(workload.project, workload.slug);
  const coldItem = await ctx.store.get(coldKey.pk, coldKey.sk);
  // A cold request of a former life of the slug (deleted, then re-created) is not demand for this one.
  const coldIncarnation = (coldItem?.data as { incarnation?: unknown } | undefined)?.incarnation;
  const cold = coldItem !== undefined && (coldIncarnation === undefined || coldIncarnation === incarnation) && ready.length === 0;
  const privateIds = config.workers.source === "private" ? config.workers.private_worker_ids : undefined;
  const reporting = ready.filter((r) => r.load !== undefined);
  // Slots with no replica record yet because they wait for cloud capacity (a node launching for them) count as booting.
  const awaiting = privateIds !== undefined ? [] : ((await compute.awaitingCapacity?.(ctx, workload)) ?? []).filter((a) => !replicas.some((r) => r.slot === a.slot));
  const decision = decideWorkers(
    config,
    {
      current: new Set([...running.map((r) => r.slot), ...awaiting.map((a) => a.slot)]).size,
      replicas: [
        ...running.map((r) => ({
          created_at: r.created_at,
          booting: r.phase === "pending" || r.phase === "starting",
          ...(r.ready_at === undefined ? {} : { ready_at: r.ready_at }),
        })),
        ...awaiting.map((a) => ({ created_at: a.since, booting: true })),
      ],
      // Each replica's peak over its agent's sampling window, so a burst between ticks still counts.
      inFlight: reporting.reduce((n, r) => n + (r.load?.peak_requests ?? (r.load?.running_requests ?? 0) + (r.load?.waiting_requests ?? 0)), 0),
      loadReported: reporting.length > 0 || (ready.length === 0 && spec.backend !== "ollama"),
      heldRequests: (await signals.heldRequests?.(workload.project, workload.slug)) ?? 0,
      requestsPerMinute: await signals.requestsPerMinute(workload.project, workload.slug, incarnation),
      queuedJobs: await signals.queuedJobs(workload.project, workload.slug),
      coldRequest: cold,
      pricePerWorkerHour: privateIds !== undefined ? 0 : (compute.hourlyPrice?.(workload) ?? 0),
      ...(privateIds !== undefined ? { availableWorkers: privateIds.filter((id) => isWorkerOnline(workers.get(id), now)).length } : {}),
    },
    previous?.autoscale ?? {},
    now,
    { command: spec.command },
  );
  // The cold request is consumed once a replica was placed for it: a placement that must wait (the
  // worker not online yet) keeps it, so the next pass still wants that replica.
  if (cold && running.length > 0) await ctx.store.delete(coldKey.pk, coldKey.sk, { kind: "any" });
  return { desired: decision.desired, decision: decision.reason, autoscale: decision.memory };
}

async function apply(
  ctx: PlatformContext,
  compute: Compute,
  workload: WorkloadRecord,
  workers: Map<string, WorkerRecord>,
  action: PlanAction,
  workloadVersion: number,
): Promise<void> {
  const { project, slug } = workload;
  switch (action.kind) {
    case "create":
      await createPlacedReplica(ctx, compute, workload, workers, action.slot, action.generation);
      return;
    case "stop": {
      const stopped = await updateReplica(ctx, project, slug, action.replica.slot, action.replica.generation, (r) =>
        r.desired === "stopped" ? undefined : { ...r, desired: "stopped", updated_at: ctx.now().toISOString() },
      );
      if (stopped) {
        await recordEvent(ctx, project, slug, {
          type: "ReplicaStopping",
          generation: action.replica.generation,
          message: `replica ${action.replica.id} (slot ${action.replica.slot}) stopping: ${action.why}`,
        });
      }
      return;
    }
    case "delete":
      await deleteReplica(ctx, action.replica);
      await compute.releaseCloudReplica?.(ctx, action.replica.worker_id, action.replica.id);
      if (action.why !== "stopped") {
        await recordEvent(ctx, project, slug, {
          type: "ReplicaLost",
          generation: action.replica.generation,
          message: `replica ${action.replica.id} removed: ${action.why}`,
        });
      }
      return;
    case "delete-workload": {
      const key = keys.workload(project, slug);
      // The generation outlives the record, first: a re-created slug continues from it, so
      // generations stay monotonic however long after the delete it comes back.
      const mark = keys.workloadGenerations(project, slug);
      const previous = Number((await ctx.store.get(mark.pk, mark.sk))?.data.generation ?? 0);
      if (workload.generation > previous) {
        await ctx.store.put({ ...mark, data: { generation: workload.generation } }, { kind: "any" });
      }
      // Only the tombstone this plan was made from: a concurrent re-create wins.
      await ctx.store.delete(key.pk, key.sk, { kind: "version", version: workloadVersion }).catch(() => undefined);
      return;
    }
  }
}

/**
 * The worker for a new replica and the address the gateway will dial it on. That address receives
 * client prompts and the replica secret, so it is only ever one the platform vouches for.
 */
async function chooseWorker(
  ctx: PlatformContext,
  compute: Compute,
  workload: WorkloadRecord,
  workers: Map<string, WorkerRecord>,
  slot: number,
  replica: string,
  avoidWorkerId?: string,
): Promise<{ worker: WorkerRecord; hourlyPriceUsd: number; gpuIndexes?: number[]; host: string } | { unavailable: string }> {
  const placement = await pickWorker(ctx, compute, workload, workers, slot, replica, avoidWorkerId);
  if ("unavailable" in placement) return placement;
  const dial = vouchedDialHost(placement.worker);
  return "refused" in dial ? { unavailable: dial.refused } : { ...placement, host: dial.host };
}

async function pickWorker(
  ctx: PlatformContext,
  compute: Compute,
  workload: WorkloadRecord,
  workers: Map<string, WorkerRecord>,
  slot: number,
  replica: string,
  /** A retry prefers a worker other than the one its replica failed on, when one is free. */
  avoidWorkerId?: string,
): Promise<{ worker: WorkerRecord; hourlyPriceUsd: number; gpuIndexes?: number[] } | { unavailable: string }> {
  const spec = workload.spec;
  const now = ctx.now();
  const privateIds =
    spec.execution_policy === "autoscaling" && spec.execution_policy_config.workers.source === "private"
      ? spec.execution_policy_config.workers.private_worker_ids
      : undefined;
  if (privateIds !== undefined) {
    // One worker runs one replica: spread over the listed workers, slot by slot.
    const online = privateIds.filter((id) => isWorkerOnline(workers.get(id), now));
    const existing = (await listWorkloadReplicas(ctx, workload.project, workload.slug)).map((r) => r.record);
    const busy = new Set(existing.filter((r) => r.desired === "running" && r.slot !== slot).map((r) => r.worker_id));
    const free = online.filter((id) => !busy.has(id));
    const chosen = free.find((id) => id !== avoidWorkerId) ?? free[0];
    if (chosen === undefined) {
      return { unavailable: `no free private worker among ${privateIds.join(", ")} (online: ${online.length})` };
    }
    return { worker: workers.get(chosen) as WorkerRecord, hourlyPriceUsd: 0 };
  }
  if (spec.worker_id !== undefined) {
    const worker = workers.get(spec.worker_id);
    if (worker === undefined) return { unavailable: `worker ${spec.worker_id} is not registered` };
    if (!isWorkerOnline(worker, now)) return { unavailable: `waiting for worker ${spec.worker_id} to come online` };
    return { worker, hourlyPriceUsd: 0 };
  }
  const placement = await compute.placeCloudReplica(ctx, workload, slot, replica);
  if ("unavailable" in placement) return placement;
  const worker = workers.get(placement.workerId) ?? (await listProjectWorkers(ctx, workload.project)).find((w) => w.id === placement.workerId);
  if (worker === undefined || !isWorkerOnline(worker, now)) {
    return { unavailable: `waiting for worker ${placement.workerId} to come online` };
  }
  return { worker, hourlyPriceUsd: placement.hourlyPriceUsd, ...(placement.gpuIndexes === undefined ? {} : { gpuIndexes: placement.gpuIndexes }) };
}

async function createPlacedReplica(
  ctx: PlatformContext,
  compute: Compute,
  workload: WorkloadRecord,
  workers: Map<string, WorkerRecord>,
  slot: number,
  generation: number,
): Promise<void> {
  const id = replicaId(workload.project, workload.slug, slot, generation, workloadIncarnation(workload));
  const placement = await chooseWorker(ctx, compute, workload, workers, slot, id);
  if ("unavailable" in placement) {
    await recordEventOnce(ctx, workload, "PlacementPending", `slot ${slot}: ${placement.unavailable}`);
    return;
  }
  const worker = placement.worker;
  const record = await createReplicaOnFreePort(
    ctx,
    portMachine(worker),
    (port) => newReplicaRecord(ctx, workload, { id, slot, generation, worker, host: placement.host, port, hourlyPriceUsd: placement.hourlyPriceUsd, gpuIndexes: placement.gpuIndexes }),
    { kind: "absent" },
    (candidate) => compute.portUsable?.(worker.id, candidate) ?? true,
  );
  // Another controller created it first; nothing of this attempt stayed behind.
  if (record === undefined) return;
  const port = record.port;
  await recordEvent(ctx, workload.project, workload.slug, {
    type: "ReplicaScheduled",
    generation,
    message: `replica ${id} (slot ${slot}, generation ${generation}) placed on ${worker.name} (${worker.id}) port ${port}`,
  });
}

function newReplicaRecord(
  ctx: PlatformContext,
  workload: WorkloadRecord,
  at: { id: string; slot: number; generation: number; worker: WorkerRecord; host: string; port: number; hourlyPriceUsd: number; gpuIndexes?: number[] | undefined },
): ReplicaRecord {
  const now = ctx.now().toISOString();
  const spec = workload.spec;
  return {
    id: at.id,
    project: workload.project,
    workload: workload.slug,
    slot: at.slot,
    generation: at.generation,
    worker_id: at.worker.id,
    host: at.host,
    port: at.port,
    port_machine: portMachine(at.worker),
    desired: "running",
    phase: "pending",
    restarts: 0,
    backend: spec.backend,
    task_type: spec.task_type,
    model: spec.model,
    command: spec.command,
    ...(spec.vllm_version === undefined ? {} : { vllm_version: spec.vllm_version }),
    gpu_indexes: at.gpuIndexes ?? [],
    hourly_price_usd: at.hourlyPriceUsd,
    created_at: now,
    updated_at: now,
    incarnation: workloadIncarnation(workload),
  };
}

async function applyRetry(
  ctx: PlatformContext,
  compute: Compute,
  workload: WorkloadRecord,
  workers: Map<string, WorkerRecord>,
  action: RetryAction,
): Promise<void> {
  const { project, slug } = workload;
  const failed = action.replica;
  const stillFailed = (current: ReplicaRecord) => current.id === failed.id && current.phase === "failed" && current.desired === "running";
  if (action.kind === "schedule-retry") {
    const scheduled = await updateReplica(ctx, project, slug, failed.slot, failed.generation, (current) =>
      !stillFailed(current) || current.next_retry_at !== undefined
        ? undefined
        : { ...current, next_retry_at: action.at, failures_in_a_row: action.failuresInARow, updated_at: ctx.now().toISOString() },
    );
    if (scheduled?.next_retry_at === action.at) {
      await recordEvent(ctx, project, slug, {
        type: "ReplicaRetryScheduled",
        generation: failed.generation,
        message: `slot ${failed.slot} will be retried at ${action.at} (failure ${action.failuresInARow} in a row): ${failed.reason ?? "see the ReplicaFailed event"}`,
      });
    }
    return;
  }
  // A new attempt is a new replica id on a new port (the failed one may be what held it), and on
  // another worker when the placement offers one: the cause may be local to the box.
  const attempt = (failed.attempt ?? 0) + 1;
  const id = replicaId(project, slug, failed.slot, failed.generation, workloadIncarnation(workload), attempt);
  const placement = await chooseWorker(ctx, compute, workload, workers, failed.slot, id, failed.worker_id);
  if ("unavailable" in placement) {
    await recordEventOnce(ctx, workload, "PlacementPending", `slot ${failed.slot}: ${placement.unavailable}`);
    return;
  }
  const worker = placement.worker;
  const current = await ctx.store.get(replicaKeys.workload(project, slug), replicaKeys.sort(failed.slot, failed.generation));
  if (current === undefined || !stillFailed(current.data as unknown as ReplicaRecord)) return;
  // The new port's claim and the replacement land together, only while the replica is as read.
  const replaced = await createReplicaOnFreePort(
    ctx,
    portMachine(worker),
    (port) => ({
      ...newReplicaRecord(ctx, workload, {
        id,
        slot: failed.slot,
        generation: failed.generation,
        worker,
        host: placement.host,
        port,
        hourlyPriceUsd: placement.hourlyPriceUsd,
        gpuIndexes: placement.gpuIndexes,
      }),
      attempt,
      ...(failed.failures_in_a_row === undefined ? {} : { failures_in_a_row: failed.failures_in_a_row }),
    }),
    { kind: "version", version: current.version },
    (candidate) => compute.portUsable?.(worker.id, candidate) ?? true,
  );
  if (replaced === undefined) return;
  const port = replaced.port;
  await releasePort(ctx, failed.port_machine ?? failed.worker_id, failed.port);
  // The failed attempt's capacity goes, wherever the new attempt runs (it has an id of its own).
  await compute.releaseCloudReplica?.(ctx, failed.worker_id, failed.id);
  await recordEvent(ctx, project, slug, {
    type: "ReplicaRetrying",
    generation: failed.generation,
    message: `replica ${failed.id} (slot ${failed.slot}) failed; retrying as ${id} on ${worker.name} (${worker.id}) port ${port} (attempt ${attempt})`,
  });
}

/** Placement retries every tick; its event is written once per reason, not once per tick. */
async function recordEventOnce(ctx: PlatformContext, workload: WorkloadRecord, type: string, message: string): Promise<void> {
  const page = await ctx.store.query({ pk: keys.events(workload.project, workload.slug), descending: true, limit: 1 });
  const last = page.items[0]?.data as { type?: string; message?: string } | undefined;
  if (last?.type === type && last.message === message) return;
  await recordEvent(ctx, workload.project, workload.slug, { type, generation: workload.runtime_generation, message });
}

/** One controller tick over every workload of every project (tombstones included). */
export async function reconcileAll(ctx: PlatformContext, compute: Compute, options: ControllerOptions = {}): Promise<ReconcileOutcome[]> {
  const outcomes: ReconcileOutcome[] = [];
  for (const projectItem of await queryAll(ctx.store, { pk: keys.org(), skPrefix: keys.projectPrefix() })) {
    const project = (projectItem.data as { slug: string }).slug;
    // Listed once per project per tick: heartbeats a tick old are fine next to the 15 s / 120 s thresholds.
    const workers = await listProjectWorkers(ctx, project);
    for (const item of await queryAll(ctx.store, { pk: keys.workload(project, "").pk, skPrefix: keys.workloadPrefix() })) {
      const slug = (item.data as unknown as WorkloadRecord).slug;
      const outcome = await reconcileWorkload(ctx, compute, project, slug, options, workers);
      if (outcome) outcomes.push(outcome);
    }
  }
  // After the workloads: their placements recorded what capacity they are waiting for.
  await compute.tick?.(ctx);
  return outcomes;
}
