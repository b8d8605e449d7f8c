import type { DryRunResult, deleteWorkload, EnsureResult, WorkloadEvent as CoreWorkloadEvent, WorkloadView } from "@inferencekey/core";
import { type CamelKeys, camelKeys, type Simplify } from "../casing";

type WireStatus = WorkloadView["status"];

/**
 * One replica of a workload as the controller sees it: `{ id, slot, generation, workerId,
 * desired, phase, restarts, reason?, exitCode? }`.
 *
 * @example
 * ```ts
 * const { status } = await mgmt.get("support-bot");
 * for (const replica of status.replicas) console.log(replica.slot, replica.phase, replica.workerId);
 * ```
 */
export type ReplicaStatus = Simplify<CamelKeys<WireStatus["replicas"][number]>>;

/**
 * A workload's observed state: `desiredReplicas` (what the policy wants now), `readyReplicas`,
 * the policy's `decision` in words, `nextChangeAt` (when a schedule opens or closes),
 * `nextRetryAt` (when the platform retries a failed replica: 30 s doubling to 30 min),
 * `conditions` (`Accepted`, `Ready`, and `Placed` on shared cloud capacity), `estimatedCostUsd`
 * (shared cloud capacity: the GPUs' share of their nodes' prices so far), `replicas` (a failed one
 * with its `reason` and `nextRetryAt`) and recent `events`.
 *
 * @example
 * ```ts
 * const { status } = await mgmt.get("support-bot");
 * console.log(`${status.readyReplicas}/${status.desiredReplicas} ready: ${status.decision}`);
 * ```
 */
export type WorkloadStatus = Simplify<
  Omit<CamelKeys<WireStatus>, "replicas"> & { replicas: ReplicaStatus[] }
>;

/**
 * A workload as the API returns it, with camelCase keys at the top level, in `status` and in
 * `status.replicas[]`: `{ id, projectSlug, slug, name, spec, generation, createdAt, updatedAt, status }`.
 * `spec` is the normalised spec in wire snake_case (see `NormalizedWorkloadSpec`), because
 * `differences[].path` and error `details[].path` point into it.
 *
 * @example
 * ```ts
 * const workload: Workload = await mgmt.get("support-bot");
 * console.log(workload.slug, workload.generation, workload.spec.execution_policy);
 * ```
 */
export type Workload = Simplify<Omit<CamelKeys<WorkloadView>, "status"> & { status: WorkloadStatus }>;

/**
 * What `ensure()` returns: `{ projectSlug, workloadSlug, generation, changed, created, differences, workload }`.
 * `changed` is false when the stored spec already matched (or `onDrift: "ignore"` kept it);
 * `differences` lists each differing field by wire path (`execution_policy_config.replicas`)
 * with its stored (`from`) and requested (`to`) value.
 *
 * @example
 * ```ts
 * const ref: EnsureRef = await mgmt.ensure(spec);
 * if (ref.changed) console.log(`generation ${ref.generation}:`, ref.differences.map((d) => d.path));
 * ```
 */
export type EnsureRef = Simplify<Omit<CamelKeys<EnsureResult>, "workload"> & { workload: Workload }>;

/**
 * What `delete()` returns: `{ projectSlug, workloadSlug, deleted: true }`.
 *
 * @example
 * ```ts
 * const { deleted }: DeletedWorkload = await mgmt.delete("support-bot");
 * ```
 */
export type DeletedWorkload = Simplify<CamelKeys<Awaited<ReturnType<typeof deleteWorkload>>>>;

/**
 * One page of a list: `data`, and `nextCursor` when more pages follow (pass it as `cursor`).
 *
 * @example
 * ```ts
 * let page: Page<Workload> = await mgmt.list({ limit: 50 });
 * while (page.nextCursor !== undefined) page = await mgmt.list({ limit: 50, cursor: page.nextCursor });
 * ```
 */
export interface Page<T> {
  data: T[];
  nextCursor: string | undefined;
}

export function toWorkload(view: WorkloadView): Workload {
  return { ...camelKeys(view), status: toWorkloadStatus(view.status) };
}

function toWorkloadStatus(status: WireStatus): WorkloadStatus {
  // Tolerates a server that predates per-replica status.
  const replicas = Array.isArray(status.replicas) ? status.replicas.map((replica) => camelKeys(replica)) : [];
  return { ...camelKeys(status), replicas };
}

export function toEnsureRef(result: EnsureResult): EnsureRef {
  return { ...camelKeys(result), workload: toWorkload(result.workload) };
}

export function toDeletedWorkload(result: Awaited<ReturnType<typeof deleteWorkload>>): DeletedWorkload {
  return camelKeys(result);
}

export function toWorkloadPage(page: { data: WorkloadView[]; next_cursor?: string }): Page<Workload> {
  return { data: page.data.map(toWorkload), nextCursor: page.next_cursor };
}

/**
 * What `preview()` says an ensure would do: `{ projectSlug, workloadSlug, dryRun: true, created,
 * changed, generation, differences }`. Nothing was written.
 *
 * @example
 * ```ts
 * const plan: EnsurePreview = await mgmt.preview(spec);
 * console.log(plan.created ? "would create" : plan.changed ? "would change" : "unchanged");
 * ```
 */
export type EnsurePreview = Simplify<CamelKeys<DryRunResult>>;

/** A workload event as the API sends it (snake_case keys). */
export type WorkloadEventWire = CoreWorkloadEvent & { id: string };

/**
 * One event of a workload's timeline: `{ id, at, type, generation, message }`. Ids order events.
 *
 * @example
 * ```ts
 * const [latest]: WorkloadEvent[] = (await mgmt.events("support-bot", { limit: 1 })).data;
 * console.log(latest?.type, latest?.message);
 * ```
 */
export type WorkloadEvent = Simplify<CamelKeys<WorkloadEventWire>>;

/** A GPU catalog entry as the API sends it. */
export interface GpuCatalogEntryWire {
  display_name: string;
  vram_gb: number;
  hourly_price_usd: number;
  cuda_versions: string[];
}

/**
 * One GPU of the catalog: `{ displayName, vramGb, hourlyPriceUsd, cudaVersions }`; `displayName`
 * is what `gpu_pool` takes.
 *
 * @example
 * ```ts
 * const cheapest: GpuCatalogEntry | undefined = (await mgmt.gpuCatalog()).sort((a, b) => a.hourlyPriceUsd - b.hourlyPriceUsd)[0];
 * ```
 */
export type GpuCatalogEntry = Simplify<CamelKeys<GpuCatalogEntryWire>>;
