import * as z from "zod/mini";
import "../zod";
import { type HostInfo, WORKER_LOST_AFTER_SECONDS, WORKER_OFFLINE_AFTER_SECONDS } from "../agent-protocol";
import { listWorkerReplicas } from "../replicas";
import { ConditionFailedError, ConflictError, ForbiddenError, NotFoundError } from "../errors";
import { type Idempotency, idFor, secretFor } from "../idempotency";
import { isoNow, keys, type PlatformContext } from "../platform/context";
import { getOrCreateProject, getProject } from "../projects";
import { secretHint, storedSecretDigest } from "../secrets";
import type { Principal } from "../tokens";
import { queryAll } from "../store";
import { parseAddressRange, touchesSpecialRange } from "./addresses";

export { parseAddressRange, touchesSpecialRange, vouchedDialHost } from "./addresses";

export const WorkerInputSchema = z.strictObject({
  name: z.string().check(z.trim(), z.minLength(1), z.maxLength(120)),
  labels: z.optional(z.record(z.string(), z.string())),
  /**
   * The IP addresses or CIDR ranges the worker's agent may advertise: the gateway dials it only
   * within them. Without them, any ordinary unicast IP address except loopback and link-local.
   */
  addresses: z.optional(
    z
      .array(
        z
          .string()
          .check(
            z.refine((text) => parseAddressRange(text) !== undefined, "expected an IP address or CIDR range such as 10.0.0.7 or 10.0.0.0/24"),
          ),
      )
      .check(z.minLength(1), z.maxLength(16)),
  ),
});

/** A private worker: one of the user's own GPU boxes, running the agent. */
export interface WorkerRecord {
  id: string;
  project: string;
  name: string;
  labels: Record<string, string>;
  /** `registered` until deregistered; `draining` while its replicas stop. */
  state: "registered" | "draining";
  /**
   * `platform`: a worker the platform registered for its own capacity (the local machine under
   * `npm start`, launched instances). Set only by the platform, never through the API: labels are
   * the user's and identify nothing.
   */
  managed_by?: "platform";
  /**
   * The machine the worker runs on, when the platform knows several workers share one (every
   * project's local worker under `npm start` is this machine). Ports are claimed per machine.
   */
  machine?: string;
  /** Where the gateway dials a platform-run worker, set by the platform (never from the agent's report). */
  dial_host?: string;
  /** Addresses given at registration: the only ones the gateway dials for this worker. */
  addresses?: string[];
  created_at: string;
  token_prefix: string;
  token_last4: string;
  last_heartbeat_at?: string;
  /** What the agent last reported about the box (GPUs, address). */
  host?: HostInfo;
}

/** The worker token's secret item: maps the token digest to its worker. */
interface WorkerTokenRecord {
  kind: "worker";
  project: string;
  worker_id: string;
  revoked_at?: string;
}

export async function registerWorker(
  ctx: PlatformContext,
  principal: Principal,
  project: string,
  input: z.output<typeof WorkerInputSchema>,
  idempotency?: Idempotency,
): Promise<{ worker: WorkerRecord; token: string }> {
  // Like ensure(), an organisation token's first use of a project creates it.
  await getOrCreateProject(ctx, principal, project);
  const special = (input.addresses ?? []).filter(touchesSpecialRange);
  if (principal.project !== undefined && special.length > 0) {
    throw new ForbiddenError(
      `addresses ${special.join(", ")} reach loopback, link-local or other special ranges (the platform's own host, cloud metadata); ` +
        "only an organisation-scoped token may register them.",
    );
  }
  return storeWorker(ctx, project, input, secretFor(ctx, "worker", idempotency), idFor(ctx, "wrk", idempotency));
}

/**
 * Stores a worker with a given token. The platform's own workers (the local machine, launched
 * instances) use tokens derived from the server secret, so they can be re-derived, never stored.
 */
export async function storeWorker(
  ctx: PlatformContext,
  project: string,
  input: z.output<typeof WorkerInputSchema>,
  token: string,
  workerId: string = idFor(ctx, "wrk", undefined),
  /** For the platform's own workers: marks them `managed_by: "platform"`, on `machine`, dialled at `dialHost`. */
  platformOwned?: { machine?: string; dialHost?: string },
): Promise<{ worker: WorkerRecord; token: string }> {
  const hint = secretHint(token);
  const worker: WorkerRecord = {
    id: workerId,
    project,
    name: input.name,
    labels: input.labels ?? {},
    ...(input.addresses === undefined ? {} : { addresses: input.addresses }),
    state: "registered",
    ...(platformOwned === undefined ? {} : { managed_by: "platform" as const }),
    ...(platformOwned?.machine === undefined ? {} : { machine: platformOwned.machine }),
    ...(platformOwned?.dialHost === undefined ? {} : { dial_host: platformOwned.dialHost }),
    created_at: isoNow(ctx),
    token_prefix: hint.prefix,
    token_last4: hint.last4,
  };
  // A replayed registration (same Idempotency-Key, so same id and token) of a deregistered worker
  // must not bring its token back.
  const gone = keys.deregisteredWorker(project, worker.id);
  if ((await ctx.store.get(gone.pk, gone.sk)) !== undefined) throw deregisteredConflict(worker.id);
  // Token first: a crash between the two writes leaves a token for no worker, which authenticates nothing.
  // A retried (idempotent or derived-token) registration finds its token item and completes the worker.
  const tokenRecord: WorkerTokenRecord = { kind: "worker", project, worker_id: worker.id };
  const tokenKey = keys.secret(storedSecretDigest(ctx, token));
  try {
    await ctx.store.put({ ...tokenKey, data: { ...tokenRecord } }, { kind: "absent" });
  } catch (error) {
    if (!(error instanceof ConditionFailedError)) throw error;
    const existing = (await ctx.store.get(tokenKey.pk, tokenKey.sk))?.data as WorkerTokenRecord | undefined;
    if (existing?.project !== project || existing.worker_id !== worker.id) {
      throw new ConflictError("This Idempotency-Key was already used for a different request.");
    }
  }
  const workerKey = keys.worker(project, worker.id);
  try {
    await ctx.store.put({ ...workerKey, data: { ...worker } }, { kind: "absent" });
  } catch (error) {
    if (!(error instanceof ConditionFailedError)) throw error;
    const existing = (await ctx.store.get(workerKey.pk, workerKey.sk))?.data as WorkerRecord | undefined;
    if (existing === undefined) throw error;
    if (existing.name !== worker.name) throw new ConflictError("This Idempotency-Key was already used for a different request.");
    return { worker: existing, token };
  }
  // Deregistration writes its tombstone before deleting the worker: a write that raced it is undone here.
  if ((await ctx.store.get(gone.pk, gone.sk)) !== undefined) {
    await ctx.store.delete(workerKey.pk, workerKey.sk, { kind: "any" });
    throw deregisteredConflict(worker.id);
  }
  return { worker, token };
}

function deregisteredConflict(workerId: string): ConflictError {
  return new ConflictError(
    `Worker ${workerId} was deregistered and its token revoked for good; register a new worker with a new Idempotency-Key.`,
  );
}

/** The key ports are claimed under: the worker's machine when the platform knows it, else the worker itself. */
export function portMachine(worker: Pick<WorkerRecord, "id" | "machine">): string {
  return worker.machine ?? worker.id;
}

/** Online while heartbeats arrive: offline after WORKER_OFFLINE_AFTER_SECONDS without one. */
export function isWorkerOnline(worker: WorkerRecord | undefined, now: Date): boolean {
  if (worker === undefined || worker.state !== "registered" || worker.last_heartbeat_at === undefined) return false;
  return now.getTime() - Date.parse(worker.last_heartbeat_at) <= WORKER_OFFLINE_AFTER_SECONDS * 1000;
}

/**
 * Lost: gone, or silent for WORKER_LOST_AFTER_SECONDS while the controller was up to hear it
 * (`watchingSince`), so a controller that just restarted does not condemn every worker at once.
 */
export function isWorkerLost(worker: WorkerRecord | undefined, now: Date, watchingSince?: Date): boolean {
  if (worker === undefined || worker.state !== "registered") return true;
  const heard = Math.max(worker.last_heartbeat_at === undefined ? Date.parse(worker.created_at) : Date.parse(worker.last_heartbeat_at), watchingSince?.getTime() ?? 0);
  return now.getTime() - heard > WORKER_LOST_AFTER_SECONDS * 1000;
}

/** A worker as the API shows it: the record plus whether it is online and what it runs. */
export interface WorkerView extends WorkerRecord {
  status: "online" | "offline";
  gpus: HostInfo["gpus"];
  replicas: { id: string; workload: string; slot: number; generation: number; phase: string; port: number }[];
}

async function workerView(ctx: PlatformContext, worker: WorkerRecord): Promise<WorkerView> {
  const replicas = (await listWorkerReplicas(ctx, worker.id)).map((r) => r.record);
  return {
    ...worker,
    status: isWorkerOnline(worker, ctx.now()) ? "online" : "offline",
    gpus: worker.host?.gpus ?? [],
    replicas: replicas.map((r) => ({ id: r.id, workload: r.workload, slot: r.slot, generation: r.generation, phase: r.phase, port: r.port })),
  };
}

export async function listWorkers(ctx: PlatformContext, principal: Principal, project: string): Promise<WorkerView[]> {
  await getProject(ctx, principal, project);
  return Promise.all((await listProjectWorkers(ctx, project)).map((w) => workerView(ctx, w)));
}

export async function listProjectWorkers(ctx: PlatformContext, project: string): Promise<WorkerRecord[]> {
  const items = await queryAll(ctx.store, { pk: keys.worker(project, "").pk, skPrefix: keys.workerPrefix() });
  return items.map((i) => i.data as unknown as WorkerRecord);
}

export async function getWorker(ctx: PlatformContext, principal: Principal, project: string, workerId: string): Promise<WorkerView> {
  await getProject(ctx, principal, project);
  const item = await ctx.store.get(keys.worker(project, workerId).pk, keys.worker(project, workerId).sk);
  if (!item) throw new NotFoundError(`worker ${workerId} not found in project "${project}"`);
  return workerView(ctx, item.data as unknown as WorkerRecord);
}

/**
 * Deregisters a worker: its record is removed at once (answered with `state: "draining"`), so its
 * token stops authenticating; its agent stops the replicas at the next heartbeat (401), and the
 * controller treats them as lost and replaces them on other workers at its next tick. There is no
 * drain: capacity dips while the replacements start. A tombstone, written first and kept, makes the
 * revocation final: the same id (a replayed registration) is never stored again. Workers the
 * platform manages are not the user's to deregister.
 */
export async function deregisterWorker(
  ctx: PlatformContext,
  principal: Principal,
  project: string,
  workerId: string,
): Promise<WorkerRecord> {
  await getProject(ctx, principal, project);
  const key = keys.worker(project, workerId);
  for (let attempt = 0; attempt < 5; attempt++) {
    const item = await ctx.store.get(key.pk, key.sk);
    if (!item) throw new NotFoundError(`worker ${workerId} not found in project "${project}"`);
    const worker = { ...(item.data as unknown as WorkerRecord), state: "draining" as const };
    if (worker.managed_by === "platform") {
      throw new ForbiddenError(`Worker ${workerId} is the platform's own capacity; it cannot be deregistered.`);
    }
    const gone = keys.deregisteredWorker(project, workerId);
    await ctx.store.put({ ...gone, data: { worker_id: workerId, deregistered_at: isoNow(ctx) } }, { kind: "any" });
    try {
      await ctx.store.delete(key.pk, key.sk, { kind: "version", version: item.version });
      return worker;
    } catch (error) {
      if (!(error instanceof ConditionFailedError)) throw error;
    }
  }
  throw new ConditionFailedError(key.pk, key.sk);
}
