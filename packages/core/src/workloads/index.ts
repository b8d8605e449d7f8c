import * as z from "zod/mini";
import "../zod";
import { ConditionFailedError, DriftError, type ErrorDetail, NotFoundError, ValidationError } from "../errors";
import { readControllerState } from "../controller/state";
import { eventsPage, recentEvents, recordEvent, type WorkloadEvent } from "../events";
import { newId } from "../ids";
import { isoNow, keys, type PlatformContext } from "../platform/context";
import { assertProjectSlug, getOrCreateProject, getProject } from "../projects";
import { changesRuntime, diffSpecs, type SpecDifference } from "../spec/diff";
import { OnDriftSchema } from "../spec/schema";
import type { OnDriftName } from "../spec/modalities";
import type { WorkloadSpec } from "../spec/schema";
import { specWarnings } from "../spec/pooling";
import { referencedWorkerIds, storedSpecProblem, validateSpec } from "../spec/validate";
import { openCursor, signCursor } from "../store/signed-cursor";
import type { Principal } from "../tokens";
import { listWorkloadReplicas, type ReplicaPhase, type ReplicaRecord } from "../replicas";
import { isWorkerOnline, listProjectWorkers, type WorkerRecord } from "../workers";
import { newIncarnationId, workloadIncarnation } from "./incarnation";
import { readEstimatedCost, readPlacedStatus } from "../capacity/status";
import { policyState } from "./policy-state";

export { policyState, DEFAULT_CRON_RUN_MINUTES, type PolicyState } from "./policy-state";
export { type IncarnationSource, newIncarnationId, workloadIncarnation } from "./incarnation";
export { READINESS_PHASES, type Readiness, type ReadinessPhase, readinessOf, readinessStep, readWorkloadReadiness } from "./readiness";

/** A workload as stored: the normalised spec plus its generations. */
export interface WorkloadRecord {
  id: string;
  project: string;
  slug: string;
  spec: WorkloadSpec;
  /** Bumped by every applied spec change. */
  generation: number;
  /** The generation whose runtime fields replicas run; only runtime changes (not `name`) move it. */
  runtime_generation: number;
  created_at: string;
  updated_at: string;
  /** Set by delete(); the controller stops the replicas and then removes the record. */
  deleted_at?: string;
  /**
   * The tool that last applied this workload as part of a set it manages (`cli` for `inferencekey
   * apply`), so `apply --prune` deletes only what it applied. Kept on the record, never in the spec.
   */
  managed_by?: string;
  /**
   * This life of the slug (`inc_...`), new at every creation or re-creation after a delete. Absent
   * on records written before it existed: read it with `workloadIncarnation(record)`.
   */
  incarnation?: string;
  /**
   * The spec in the form another surface received it (the vendor-compatible `/api`: `model_name`,
   * `config.command`, `description`, ...), kept so that surface returns stored values as they were
   * sent. `spec` stays the truth: a field is shown from here only while it still means what `spec` holds.
   */
  declared?: Record<string, unknown>;
}

export interface Condition {
  /** `Placed`: only for workloads on shared cloud capacity, once the controller tried to place them. */
  type: "Accepted" | "Ready" | "Placed";
  status: "True" | "False";
  reason: string;
  message: string;
}

export interface WorkloadView {
  id: string;
  project_slug: string;
  slug: string;
  name: string;
  spec: WorkloadSpec;
  generation: number;
  created_at: string;
  updated_at: string;
  /** Set when a managing tool applied it (`cli`); absent otherwise. */
  managed_by?: string;
  status: {
    desired_replicas: number;
    ready_replicas: number;
    decision: string;
    next_change_at?: string;
    /** Earliest time the controller retries a failed replica (30 s doubling to 30 min per slot). */
    next_retry_at?: string;
    conditions: Condition[];
    /** On shared cloud capacity: GPU-hours held x their share of the nodes' prices, since first placed (USD, estimated). */
    estimated_cost_usd?: number;
    /** Accepted but deprecated parts of the spec, each naming its replacement (e.g. vLLM's `--task score`). */
    warnings?: string[];
    replicas: ReplicaSummary[];
    events: WorkloadEvent[];
  };
}

export interface ReplicaSummary {
  id: string;
  slot: number;
  generation: number;
  worker_id: string;
  desired: "running" | "stopped";
  phase: ReplicaPhase;
  restarts: number;
  reason?: string;
  exit_code?: number | null;
  /** A failed replica: when the controller replaces it with a new attempt. */
  next_retry_at?: string;
}

export interface EnsureResult {
  project_slug: string;
  workload_slug: string;
  generation: number;
  changed: boolean;
  created: boolean;
  /** What differs between the stored and the requested spec (empty when equal). */
  differences: SpecDifference[];
  workload: WorkloadView;
}

export const EnsureQuerySchema = z.object({
  on_drift: z._default(OnDriftSchema, "reconcile"),
  /** `true`: validate and compare only; nothing is written (the answer says what would change). */
  dry_run: z.pipe(
    z._default(z.enum(["true", "false"]), "false"),
    z.transform((value) => value === "true"),
  ),
});

/** What an ensure may do besides making the spec real. */
export interface EnsureOptions {
  onDrift?: OnDriftName;
  /** Marks the record as applied by this tool (`managed_by`), e.g. `cli`. */
  manager?: string;
  /** Refuses this caller this spec before anything is written (see WorkloadAdmission). */
  admit?: WorkloadAdmission;
  /** Stored as the record's `declared` (the `/api` surface's wire form of the spec). */
  declared?: Record<string, unknown>;
}

const MAX_WRITE_ATTEMPTS = 20;

/** Throws to refuse a caller a spec (where it would run, what it would run); see ControlApiOptions.admitWorkload. */
export type WorkloadAdmission = (ctx: PlatformContext, principal: Principal, project: string, spec: WorkloadSpec) => Promise<void> | void;

/**
 * Makes the stored workload match `rawSpec`, idempotent by slug. Concurrent calls for one slug
 * converge: every write is conditional on the version read, and a loser re-reads and re-diffs.
 */
export async function ensureWorkload(
  ctx: PlatformContext,
  principal: Principal,
  project: string,
  rawSpec: unknown,
  options: OnDriftName | EnsureOptions = "reconcile",
): Promise<EnsureResult> {
  const { onDrift = "reconcile", manager, admit, declared } = typeof options === "string" ? { onDrift: options } : options;
  const spec = validateSpec(rawSpec);
  await getOrCreateProject(ctx, principal, project);
  await assertWorkersExist(ctx, project, spec);
  await admit?.(ctx, principal, project, spec);
  const key = keys.workload(project, spec.slug);

  for (let attempt = 0; attempt < MAX_WRITE_ATTEMPTS; attempt++) {
    const item = await ctx.store.get(key.pk, key.sk);
    const stored = item?.data as WorkloadRecord | undefined;
    const live = stored !== undefined && stored.deleted_at === undefined ? stored : undefined;
    const now = isoNow(ctx);

    if (live !== undefined && item !== undefined) {
      const differences = diffSpecs(live.spec, spec);
      const marking = manager !== undefined && live.managed_by !== manager;
      const redeclaring = declared !== undefined && JSON.stringify(live.declared) !== JSON.stringify(declared);
      if ((differences.length === 0 || onDrift === "ignore") && !marking && !redeclaring) {
        return result(ctx, live, { changed: false, created: false, differences });
      }
      if (differences.length === 0 || onDrift === "ignore") {
        // Only the manager marker or the declared form changes: no new generation, nothing restarts.
        const marked: WorkloadRecord = {
          ...live,
          ...(marking ? { managed_by: manager } : {}),
          ...(redeclaring ? { declared } : {}),
          updated_at: now,
        };
        try {
          await ctx.store.put({ ...key, data: { ...marked } }, { kind: "version", version: item.version });
        } catch (error) {
          if (error instanceof ConditionFailedError) continue;
          throw error;
        }
        return result(ctx, marked, { changed: false, created: false, differences });
      }
      if (onDrift === "fail") {
        throw new DriftError(
          `workload "${spec.slug}" differs from the stored spec in ${differences.length} field(s); on_drift=fail changed nothing`,
          differences.map(driftDetail),
        );
      }
      const generation = live.generation + 1;
      const next: WorkloadRecord = {
        ...live,
        ...(manager === undefined ? {} : { managed_by: manager }),
        ...(declared === undefined ? {} : { declared }),
        // A record from before incarnations stores the id every reader derived for it.
        incarnation: workloadIncarnation(live),
        spec,
        generation,
        runtime_generation: changesRuntime(differences) ? generation : live.runtime_generation,
        updated_at: now,
      };
      try {
        await ctx.store.put({ ...key, data: { ...next } }, { kind: "version", version: item.version });
      } catch (error) {
        if (error instanceof ConditionFailedError) continue;
        throw error;
      }
      await recordEvent(ctx, project, spec.slug, {
        type: "SpecUpdated",
        generation,
        message: `generation ${generation}: ${differences.map((d) => d.path).join(", ")} changed${
          next.runtime_generation === generation ? "; replicas roll" : "; no restart needed"
        }`,
      });
      return result(ctx, next, { changed: true, created: false, differences });
    }

    // New, or re-created after delete: generations continue (from the tombstone, or from the mark
    // the controller left when it removed the record), so they stay monotonic for the slug.
    const mark = stored === undefined ? await ctx.store.get(keys.workloadGenerations(project, spec.slug).pk, keys.workloadGenerations(project, spec.slug).sk) : undefined;
    const generation = Math.max(stored?.generation ?? 0, Number(mark?.data.generation ?? 0)) + 1;
    const record: WorkloadRecord = {
      id: stored?.id ?? newId("wl"),
      project,
      slug: spec.slug,
      spec,
      generation,
      runtime_generation: generation,
      created_at: now,
      updated_at: now,
      ...(manager === undefined ? {} : { managed_by: manager }),
      ...(declared === undefined ? {} : { declared }),
      incarnation: newIncarnationId(),
    };
    try {
      await ctx.store.put(
        { ...key, data: { ...record } },
        item === undefined ? { kind: "absent" } : { kind: "version", version: item.version },
      );
    } catch (error) {
      if (error instanceof ConditionFailedError) continue;
      throw error;
    }
    // Lets a surface that addresses workloads by id (the vendor-compatible /api) find this one.
    await ctx.store.put({ ...keys.workloadId(record.id), data: { project, slug: spec.slug } }, { kind: "any" });
    await recordEvent(ctx, project, spec.slug, { type: "Created", generation, message: `workload created at generation ${generation}` });
    return result(ctx, record, { changed: true, created: true, differences: [] });
  }
  throw new ConditionFailedError(key.pk, key.sk);
}

/**
 * `received` is the requested value and `expected` the stored one, written alike: a stored string is
 * itself (`"vllm"`, not `"\"vllm\""`), other values their JSON (`expected` is text on the wire).
 */
function driftDetail(d: SpecDifference): ErrorDetail {
  return {
    path: d.path,
    message: `stored ${JSON.stringify(d.from)}, requested ${JSON.stringify(d.to)}`,
    received: d.to,
    expected: d.from === undefined ? "absent (as stored)" : typeof d.from === "string" ? d.from : JSON.stringify(d.from),
  };
}

async function assertWorkersExist(ctx: PlatformContext, project: string, spec: WorkloadSpec): Promise<void> {
  const refs = referencedWorkerIds(spec);
  if (refs.length === 0) return;
  const workers = await listProjectWorkers(ctx, project);
  const known = new Set(workers.map((w) => w.id));
  const missing = refs.filter((r) => !known.has(r.workerId));
  if (missing.length > 0) {
    throw new ValidationError(
      `The spec names ${missing.length} worker(s) not registered in project "${project}".`,
      missing.map((r) => ({
        path: r.path,
        message: `worker ${r.workerId} is not registered in project "${project}"`,
        received: r.workerId,
        expected:
          workers.length === 0
            ? "a registered worker id (register one with workers.register)"
            : `one of the project's workers: ${workers.map((w) => w.id).join(", ")}`,
      })),
    );
  }
}

/** What an ensure would do, without writing: the same validation, worker checks and diff. */
export interface DryRunResult {
  project_slug: string;
  workload_slug: string;
  dry_run: true;
  created: boolean;
  changed: boolean;
  /** The generation the workload would have after the write (the current one when unchanged). */
  generation: number;
  differences: SpecDifference[];
}

/** `ensure` with `dry_run=true`: what it would do (the same validation, checks and diff), writing nothing. */
export async function previewEnsure(
  ctx: PlatformContext,
  principal: Principal,
  project: string,
  rawSpec: unknown,
  onDrift: OnDriftName = "reconcile",
  admit?: WorkloadAdmission,
): Promise<DryRunResult> {
  const spec = validateSpec(rawSpec);
  // The same admission as a real ensure: a preview never promises what the write would refuse.
  await admit?.(ctx, principal, project, spec);
  const existing = await getProject(ctx, principal, project).catch((error: unknown) => {
    // A project an organisation token's ensure would create: nothing in it yet.
    if (error instanceof NotFoundError && principal.project === undefined) return undefined;
    throw error;
  });
  if (existing === undefined) assertProjectSlug(project, "project");
  else await assertWorkersExist(ctx, project, spec);
  const key = keys.workload(project, spec.slug);
  const stored = existing === undefined ? undefined : ((await ctx.store.get(key.pk, key.sk))?.data as WorkloadRecord | undefined);
  const live = stored !== undefined && stored.deleted_at === undefined ? stored : undefined;
  const base = { project_slug: project, workload_slug: spec.slug, dry_run: true as const };
  if (live === undefined) return { ...base, created: true, changed: true, generation: (stored?.generation ?? 0) + 1, differences: [] };
  const differences = diffSpecs(live.spec, spec);
  if (differences.length > 0 && onDrift === "fail") {
    throw new DriftError(
      `workload "${spec.slug}" differs from the stored spec in ${differences.length} field(s); on_drift=fail would change nothing`,
      differences.map(driftDetail),
    );
  }
  const changed = differences.length > 0 && onDrift === "reconcile";
  return { ...base, created: false, changed, generation: live.generation + (changed ? 1 : 0), differences };
}

async function result(
  ctx: PlatformContext,
  record: WorkloadRecord,
  outcome: { changed: boolean; created: boolean; differences: SpecDifference[] },
): Promise<EnsureResult> {
  return {
    project_slug: record.project,
    workload_slug: record.slug,
    generation: record.generation,
    ...outcome,
    workload: await view(ctx, record),
  };
}

/** `projectWorkers` lets a listing read the project's workers once instead of once per workload. */
export async function view(ctx: PlatformContext, record: WorkloadRecord, projectWorkers?: WorkerRecord[]): Promise<WorkloadView> {
  const problem = storedSpecProblem(record.spec);
  const fromSpec = problem === undefined ? policyState(record.spec, ctx.now()) : { desiredReplicas: 0, decision: invalidSpecDecision(problem) };
  // Autoscaling decisions depend on load, which only the controller sees: show its last decision.
  const controller =
    problem === undefined && record.spec.execution_policy === "autoscaling" ? await readControllerState(ctx, record.project, record.slug) : undefined;
  const state: { desiredReplicas: number; decision: string; nextChangeAt?: string } = controller
    ? { ...fromSpec, desiredReplicas: controller.desired, decision: controller.decision }
    : fromSpec;
  const replicas = (await listWorkloadReplicas(ctx, record.project, record.slug)).map((r) => r.record);
  // A replica counts as ready only while its worker's heartbeats confirm it.
  const workers = new Map((projectWorkers ?? (await listProjectWorkers(ctx, record.project))).map((w) => [w.id, w]));
  const ready = replicas.filter((r) => r.desired === "running" && r.phase === "ready" && isWorkerOnline(workers.get(r.worker_id), ctx.now())).length;
  const failed = replicas.filter((r) => r.desired === "running" && r.phase === "failed");
  const nextRetryAt = earliestRetry(failed);
  const warnings = specWarnings(record.spec);
  const conditions: Condition[] = [
    problem === undefined
      ? { type: "Accepted", status: "True", reason: "SpecValid", message: `generation ${record.generation} accepted${warnings.map((w) => `; warning: ${w}`).join("")}` }
      : { type: "Accepted", status: "False", reason: "SpecInvalid", message: `generation ${record.generation} no longer passes validation: ${problem}` },
    state.desiredReplicas === 0
      ? { type: "Ready", status: "False", reason: "NoReplicasWanted", message: state.decision }
      : ready >= state.desiredReplicas
        ? { type: "Ready", status: "True", reason: "ReplicasReady", message: `${ready}/${state.desiredReplicas} ready` }
        : failed.length > 0
          ? {
              type: "Ready",
              status: "False",
              reason: "ReplicaFailed",
              message: `${ready}/${state.desiredReplicas} replicas ready; ${failed[0]?.id} failed: ${failed[0]?.reason ?? "see events"}${
                nextRetryAt === undefined ? "" : `; retrying at ${nextRetryAt}`
              }`,
            }
          : {
            type: "Ready",
            status: "False",
            reason: "AwaitingReplicas",
            message: `${ready}/${state.desiredReplicas} replicas ready`,
          },
  ];
  const placed = await readPlacedStatus(ctx, record.project, record.slug);
  if (placed !== undefined && runsOnSharedCapacity(record.spec)) {
    conditions.push({ type: "Placed", status: placed.placed ? "True" : "False", reason: placed.reason, message: placed.message });
  }
  const cost = placed !== undefined && runsOnSharedCapacity(record.spec) ? await readEstimatedCost(ctx, record.project, record.slug) : undefined;
  return {
    id: record.id,
    project_slug: record.project,
    slug: record.slug,
    name: record.spec.name,
    spec: record.spec,
    generation: record.generation,
    created_at: record.created_at,
    updated_at: record.updated_at,
    ...(record.managed_by === undefined ? {} : { managed_by: record.managed_by }),
    status: {
      desired_replicas: state.desiredReplicas,
      ready_replicas: ready,
      decision: state.decision,
      ...(state.nextChangeAt === undefined ? {} : { next_change_at: state.nextChangeAt }),
      ...(nextRetryAt === undefined ? {} : { next_retry_at: nextRetryAt }),
      conditions,
      ...(cost === undefined ? {} : { estimated_cost_usd: cost }),
      ...(warnings.length === 0 ? {} : { warnings }),
      replicas: replicas.map((r) => ({
        id: r.id,
        slot: r.slot,
        generation: r.generation,
        worker_id: r.worker_id,
        desired: r.desired,
        phase: r.phase,
        restarts: r.restarts,
        ...(r.reason === undefined ? {} : { reason: r.reason }),
        ...(r.exit_code === undefined ? {} : { exit_code: r.exit_code }),
        ...(r.next_retry_at === undefined ? {} : { next_retry_at: r.next_retry_at }),
      })),
      events: await recentEvents(ctx, record.project, record.slug),
    },
  };
}

/** Whether the spec's replicas go on cloud capacity: no worker_id and no private workers. */
export function runsOnSharedCapacity(spec: WorkloadSpec): boolean {
  if (spec.worker_id !== undefined) return false;
  return !(spec.execution_policy === "autoscaling" && spec.execution_policy_config.workers.source === "private");
}

/** The soonest scheduled retry among failed replicas (ISO times sort as strings). */
export function earliestRetry(failed: readonly ReplicaRecord[]): string | undefined {
  let earliest: string | undefined;
  for (const replica of failed) {
    const at = replica.next_retry_at;
    if (at !== undefined && (earliest === undefined || at < earliest)) earliest = at;
  }
  return earliest;
}

/** The controller's decision for a stored spec that no longer validates: nothing runs until it is re-ensured. */
export function invalidSpecDecision(problem: string): string {
  return `stored spec is invalid, nothing runs until it is ensured again: ${problem}`;
}

export async function getWorkloadRecord(
  ctx: PlatformContext,
  principal: Principal,
  project: string,
  slug: string,
): Promise<WorkloadRecord> {
  await getProject(ctx, principal, project);
  const item = await ctx.store.get(keys.workload(project, slug).pk, keys.workload(project, slug).sk);
  const record = item?.data as WorkloadRecord | undefined;
  if (record === undefined || record.deleted_at !== undefined) {
    throw new NotFoundError(`workload "${slug}" not found in project "${project}"`);
  }
  return record;
}

export async function getWorkload(
  ctx: PlatformContext,
  principal: Principal,
  project: string,
  slug: string,
): Promise<WorkloadView> {
  return view(ctx, await getWorkloadRecord(ctx, principal, project, slug));
}

export async function listWorkloads(
  ctx: PlatformContext,
  principal: Principal,
  project: string,
  page: { limit?: number; cursor?: string },
): Promise<{ data: WorkloadView[]; next_cursor?: string }> {
  await getProject(ctx, principal, project);
  const limit = page.limit ?? 50;
  const data: WorkloadView[] = [];
  const workers = await listProjectWorkers(ctx, project);
  // Cursors are bound to this project's listing: one from another project's is refused.
  const scope = `workloads\n${project}`;
  let cursor = page.cursor === undefined ? undefined : openCursor(ctx.serverSecret, scope, page.cursor);
  // Tombstones are skipped, so a page may need more than one store query to fill.
  do {
    const result = await ctx.store.query({
      pk: keys.workload(project, "").pk,
      skPrefix: keys.workloadPrefix(),
      limit: limit - data.length,
      ...(cursor ? { cursor } : {}),
    });
    for (const item of result.items) {
      const record = item.data as unknown as WorkloadRecord;
      if (record.deleted_at === undefined) data.push(await view(ctx, record, workers));
    }
    cursor = result.cursor;
  } while (cursor !== undefined && data.length < limit);
  return { data, ...(cursor === undefined ? {} : { next_cursor: signCursor(ctx.serverSecret, scope, cursor) }) };
}

export async function deleteWorkload(
  ctx: PlatformContext,
  principal: Principal,
  project: string,
  slug: string,
): Promise<{ project_slug: string; workload_slug: string; deleted: true }> {
  const key = keys.workload(project, slug);
  for (let attempt = 0; attempt < MAX_WRITE_ATTEMPTS; attempt++) {
    await getWorkloadRecord(ctx, principal, project, slug);
    const item = await ctx.store.get(key.pk, key.sk);
    if (!item) throw new NotFoundError(`workload "${slug}" not found in project "${project}"`);
    const record = item.data as unknown as WorkloadRecord;
    try {
      await ctx.store.put({ ...key, data: { ...record, deleted_at: isoNow(ctx) } }, { kind: "version", version: item.version });
    } catch (error) {
      if (error instanceof ConditionFailedError) continue;
      throw error;
    }
    await recordEvent(ctx, project, slug, { type: "Deleted", generation: record.generation, message: "workload deleted; replicas stop" });
    return { project_slug: project, workload_slug: slug, deleted: true };
  }
  throw new ConditionFailedError(key.pk, key.sk);
}

/** A workload's events, newest first (see `eventsPage`); events are kept 14 days. */
export async function listWorkloadEvents(
  ctx: PlatformContext,
  principal: Principal,
  project: string,
  slug: string,
  page: { limit?: number; cursor?: string },
): Promise<{ data: (WorkloadEvent & { id: string })[]; next_cursor?: string }> {
  await getWorkloadRecord(ctx, principal, project, slug);
  // Cursors are bound to this workload's events, like every listing's (store/signed-cursor.ts).
  const scope = `events\n${project}\n${slug}`;
  const result = await eventsPage(ctx, project, slug, {
    ...(page.limit === undefined ? {} : { limit: page.limit }),
    ...(page.cursor === undefined ? {} : { cursor: openCursor(ctx.serverSecret, scope, page.cursor) }),
  });
  return result.next_cursor === undefined ? result : { ...result, next_cursor: signCursor(ctx.serverSecret, scope, result.next_cursor) };
}
