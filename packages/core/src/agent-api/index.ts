import {
  type Assignment,
  HEARTBEAT_INTERVAL_SECONDS,
  type HeartbeatResponse,
  HeartbeatRequestSchema,
  type ReplicaReport,
} from "../agent-protocol";
import { nodeWorkers, registerNode } from "../capacity/node-agent";
import { ConditionFailedError, MethodNotAllowedError, NotFoundError, UnauthorizedError } from "../errors";
import { recordEvent } from "../events";
import { parseInput } from "../http/control-api";
import { readJsonBody } from "../http/json-body";
import { errorResponse, json, requestIdOf } from "../http/responses";
import { getSecretItem, keys, type PlatformContext } from "../platform/context";
import type { StoreItem } from "../store";
import { listWorkerReplicas, reclaimPort, type ReplicaPhase, type ReplicaRecord, replicaSecret, updateReplica } from "../replicas";
import { readProjectSecretValues } from "../project-secrets";
import { describeSecretProblem, REDACTED, redactSecrets } from "../secrets";
import { bearer } from "../tokens";
import { isWorkerOnline, type WorkerRecord } from "../workers";

export interface WorkerPrincipal {
  project: string;
  workerId: string;
  /** The worker item authentication read, so the heartbeat that follows need not read it again. */
  workerItem?: StoreItem;
}

/** A worker token authenticates its worker only while the worker is registered. */
export async function authenticateWorker(ctx: PlatformContext, authorization: string | null): Promise<WorkerPrincipal> {
  const token = bearer(authorization);
  if (token === undefined) throw new UnauthorizedError("A worker token is required: send `Authorization: Bearer ik_wrk_...`.");
  const problem = describeSecretProblem("worker", token);
  if (problem !== undefined) throw new UnauthorizedError(`The worker token is malformed: ${problem}.`);
  const item = await getSecretItem(ctx, token);
  const record = item?.data as { kind?: string; project?: string; worker_id?: string } | undefined;
  if (record?.kind !== "worker" || record.project === undefined || record.worker_id === undefined) {
    throw new UnauthorizedError("The worker token is not recognised.");
  }
  const worker = await ctx.store.get(keys.worker(record.project, record.worker_id).pk, keys.worker(record.project, record.worker_id).sk);
  if (!worker) throw new UnauthorizedError("The worker was deregistered; its token no longer works.");
  return { project: record.project, workerId: record.worker_id, workerItem: worker };
}

/** Called when the replica set of a workload changed (a replica became ready, failed, stopped). */
export type ReplicaChangeListener = (project: string, workload: string) => void;

/** Called when a worker that was not online (new, or silent) heartbeats: placements waiting for it can go ahead. */
export type WorkerOnlineListener = (project: string, workerId: string) => void;

export interface HeartbeatListeners {
  onReplicaChange?: ReplicaChangeListener;
  onWorkerOnline?: WorkerOnlineListener;
}

/**
 * One heartbeat: record the box, fold the replica reports into the replica records (with events on
 * phase changes), answer the worker's full assignment.
 */
export async function heartbeat(
  ctx: PlatformContext,
  principal: WorkerPrincipal,
  body: unknown,
  listeners: HeartbeatListeners = {},
  intervalSeconds: number = HEARTBEAT_INTERVAL_SECONDS,
): Promise<HeartbeatResponse> {
  const request = parseInput(HeartbeatRequestSchema, body, "heartbeat");
  const now = ctx.now().toISOString();
  const workerKey = keys.worker(principal.project, principal.workerId);
  for (let attempt = 0; ; attempt++) {
    // A write that lost a race re-reads; the first attempt uses what authentication read.
    const item = attempt === 0 && principal.workerItem !== undefined ? principal.workerItem : await ctx.store.get(workerKey.pk, workerKey.sk);
    if (!item) throw new UnauthorizedError("The worker was deregistered; its token no longer works.");
    const worker = item.data as unknown as WorkerRecord;
    try {
      await ctx.store.put({ ...workerKey, data: { ...worker, host: request.host, last_heartbeat_at: now } }, { kind: "version", version: item.version });
      if (!isWorkerOnline(worker, ctx.now())) listeners.onWorkerOnline?.(principal.project, principal.workerId);
      break;
    } catch (error) {
      if (!(error instanceof ConditionFailedError) || attempt >= 5) throw error;
    }
  }

  const placed = (await listWorkerReplicas(ctx, principal.workerId)).map((r) => r.record);
  const byId = new Map(placed.map((r) => [r.id, r]));
  // A worker serves one project: its replicas get that project's secrets and no other's.
  const projectSecrets = placed.length === 0 ? {} : (await readProjectSecretValues(ctx, principal.project)).values;
  const secretValues = Object.values(projectSecrets);
  for (const report of request.replicas) {
    const replica = byId.get(report.replica_id);
    if (replica === undefined) continue; // no longer assigned: the answer omits it and the agent stops it
    const updated = await applyReport(ctx, replica, report, now, request.host.front_certificate_sha256, secretValues);
    if (updated !== undefined) {
      if (updated.id !== replica.id) byId.delete(replica.id);
      // A retry may have moved the slot to another worker: only this worker's replicas are its assignment.
      if (updated.worker_id === principal.workerId) byId.set(updated.id, updated);
      if (updated.phase !== replica.phase) listeners.onReplicaChange?.(updated.project, updated.workload);
    }
    if (report.port_unavailable === true && report.port === replica.port) {
      const moved = await reclaimPort(ctx, updated ?? replica);
      if (moved !== undefined) {
        byId.set(moved.id, moved);
        await recordEvent(ctx, moved.project, moved.workload, {
          type: "ReplicaPortReassigned",
          generation: moved.generation,
          message: `replica ${moved.id}: port ${report.port} is held by another program on the worker; moved to port ${moved.port}`,
        });
      }
    }
  }

  const assignments: Assignment[] = [...byId.values()]
    .filter((r) => !(r.desired === "stopped" && r.phase === "stopped"))
    .map((r) => ({
      replica_id: r.id,
      project: r.project,
      workload: r.workload,
      slot: r.slot,
      generation: r.generation,
      backend: r.backend as Assignment["backend"],
      task_type: r.task_type as Assignment["task_type"],
      model: r.model,
      command: r.command,
      ...(r.vllm_version === undefined ? {} : { vllm_version: r.vllm_version }),
      port: r.port,
      host: r.host,
      secret: replicaSecret(ctx.serverSecret, r.id),
      gpu_indexes: r.gpu_indexes,
      desired: r.desired,
      ...(r.project === principal.project && secretValues.length > 0 ? { env: { ...projectSecrets } } : {}),
    }));
  return { worker_id: principal.workerId, project: principal.project, assignments, heartbeat_interval_seconds: intervalSeconds };
}

async function applyReport(
  ctx: PlatformContext,
  replica: ReplicaRecord,
  reported: ReplicaReport,
  now: string,
  frontCertificateSha256: string | undefined,
  projectSecretValues: readonly string[],
): Promise<ReplicaRecord | undefined> {
  // What the backend printed becomes the replica's status: no credential, server secret or project secret in it.
  const redact = (text: string) => redactValues(redactSecrets(text, ctx.serverSecret), projectSecretValues);
  const report: ReplicaReport = {
    ...reported,
    ...(reported.reason === undefined ? {} : { reason: redact(reported.reason) }),
    ...(reported.stderr_tail === undefined ? {} : { stderr_tail: reported.stderr_tail.map(redact) }),
  };
  const phase: ReplicaPhase = report.state;
  let transitioned: ReplicaRecord | undefined;
  const updated = await updateReplica(ctx, replica.project, replica.workload, replica.slot, replica.generation, (current) => {
    // The controller replaced the slot's replica (a retry) since this heartbeat listed it: the report is about the old one.
    if (current.id !== replica.id) return undefined;
    const next: ReplicaRecord = {
      ...current,
      phase,
      restarts: report.restarts,
      last_report_at: now,
      updated_at: now,
      ...(report.reason === undefined ? {} : { reason: report.reason }),
      ...(report.exit_code === undefined ? {} : { exit_code: report.exit_code }),
      ...(report.stderr_tail === undefined ? {} : { stderr_tail: report.stderr_tail }),
      ...(report.load === undefined ? {} : { load: report.load }),
      ...(phase === "ready" && current.phase !== "ready" ? { ready_at: now } : {}),
    };
    if (phase === "ready") delete next.reason;
    // A retry is scheduled for a failed replica only; one that runs again needs none.
    if (phase !== "failed") delete next.next_retry_at;
    // The gateway pins what the worker's agent reports now: a replica is never reached on an older certificate.
    if (frontCertificateSha256 === undefined) delete next.front_certificate_sha256;
    else next.front_certificate_sha256 = frontCertificateSha256;
    transitioned = current.phase !== phase || current.restarts !== report.restarts ? current : undefined;
    return next;
  });
  if (updated !== undefined && transitioned !== undefined) {
    const where = `replica ${updated.id} (slot ${updated.slot}, generation ${updated.generation})`;
    const message =
      phase === "failed"
        ? `${where} failed: ${report.reason ?? "unknown reason"}${report.exit_code !== undefined && report.exit_code !== null ? ` (exit code ${report.exit_code})` : ""}${
            report.stderr_tail?.length ? `; stderr: ${report.stderr_tail.slice(-5).join(" | ")}` : ""
          }`
        : transitioned.phase === phase
          ? `${where} restarted (${report.restarts} restart${report.restarts === 1 ? "" : "s"})${report.reason ? `: ${report.reason}` : ""}`
          : `${where} is ${phase}${report.reason ? `: ${report.reason}` : ""}`;
    await recordEvent(ctx, updated.project, updated.workload, {
      type: `Replica${phase[0]?.toUpperCase()}${phase.slice(1)}`,
      generation: updated.generation,
      message,
    });
  }
  return updated;
}

/** Replaces every exact value (of at least 4 characters: shorter ones would blank ordinary words) with `[redacted]`. */
function redactValues(text: string, values: readonly string[]): string {
  let out = text;
  for (const value of values) if (value.length >= 4) out = out.replaceAll(value, REDACTED);
  return out;
}

/** The agent API as a web-standard handler, served by Lambda and by the local runtime alike. */
export function createAgentApi(
  ctx: PlatformContext,
  options: {
    log?: (line: string) => void;
    heartbeatIntervalSeconds?: number;
  } & HeartbeatListeners = {},
): (request: Request) => Promise<Response> {
  const log = options.log ?? ((line: string) => console.log(line));
  return async (request) => {
    const requestId = requestIdOf(request);
    const url = new URL(request.url);
    try {
      // Nodes the platform launched: registration with the launch token, then their workers.
      if (url.pathname === "/agent/v1/register") {
        if (request.method !== "POST") throw new MethodNotAllowedError(`${request.method} is not allowed on ${url.pathname}; allowed: POST`);
        const body = await readJsonBody(request, 16 * 1024);
        const answer = await registerNode(ctx, request.headers.get("authorization"), body);
        log(`${request.method} ${url.pathname} 200 ${requestId} node ${answer.node_id}`);
        return json(answer, 200, { "x-request-id": requestId, "cache-control": "no-store" });
      }
      const nodeRoute = /^\/agent\/v1\/nodes\/([A-Za-z0-9_-]{1,64})\/workers$/.exec(url.pathname);
      if (nodeRoute !== null) {
        if (request.method !== "GET") throw new MethodNotAllowedError(`${request.method} is not allowed on ${url.pathname}; allowed: GET`);
        const answer = await nodeWorkers(ctx, nodeRoute[1] as string, request.headers.get("authorization"));
        return json(answer, 200, { "x-request-id": requestId, "cache-control": "no-store" });
      }
      if (url.pathname !== "/agent/v1/heartbeat") throw new NotFoundError(`no agent route ${url.pathname}`);
      if (request.method !== "POST") throw new MethodNotAllowedError(`${request.method} is not allowed on ${url.pathname}; allowed: POST`);
      const principal = await authenticateWorker(ctx, request.headers.get("authorization"));
      const body = await readJsonBody(request, 1024 * 1024);
      // The answer carries replica secrets and project secrets: nothing on the way may keep it.
      return json(await heartbeat(ctx, principal, body, options, options.heartbeatIntervalSeconds), 200, {
        "x-request-id": requestId,
        "cache-control": "no-store",
      });
    } catch (error) {
      const response = errorResponse(error, requestId, log);
      log(`${request.method} ${url.pathname} ${response.status} ${requestId}`);
      return response;
    }
  };
}
