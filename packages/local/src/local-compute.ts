import { createServer } from "node:net";
import {
  type Compute,
  deriveSecret,
  getSecretItem,
  ForbiddenError,
  idFor,
  keys,
  type Placement,
  type Principal,
  referencedWorkerIds,
  type WorkloadAdmission,
  type WorkloadSpec,
  type PlatformContext,
  queryAll,
  storeWorker,
  type WorkerRecord,
  type WorkloadRecord,
} from "@inferencekey/core";

/** Every project's local worker is this one machine: their ports are claimed together. */
export const LOCAL_MACHINE = "local";
/** The local worker's backends are reached on loopback, whatever its agent reports. */
export const LOCAL_DIAL_HOST = "127.0.0.1";

/** Shown on the local worker for people; it identifies nothing (anyone may set any label). */
export const LOCAL_WORKER_LABEL = "inferencekey.local";

/** The local machine's worker token for a project: derived from the server secret, never stored. */
export function localWorkerToken(serverSecret: string, project: string): string {
  return deriveSecret("worker", serverSecret, `local-worker:${project}`);
}

/** The local worker's id in a project: derived, so no registration (whose ids derive from other scopes) can take it. */
export function localWorkerId(ctx: PlatformContext, project: string): string {
  return idFor(ctx, "wrk", { scope: "local-worker", key: project });
}

/**
 * Who may have commands run on this machine (`INFERENCEKEY_LOCAL_COMMANDS`): `organisation`
 * (default) admits organisation-scoped tokens only, `all` admits project-scoped tokens too.
 */
export type LocalCommands = "organisation" | "all";
export const LOCAL_COMMANDS_SETTING = "INFERENCEKEY_LOCAL_COMMANDS";

/** Whether a spec would run on this machine: cloud placement (this machine stands in for it) or the local worker. */
export function runsOnThisMachine(ctx: PlatformContext, project: string, spec: WorkloadSpec): boolean {
  const local = localWorkerId(ctx, project);
  const named = referencedWorkerIds(spec).map((r) => r.workerId);
  if (named.includes(local)) return true;
  const privateSource = spec.execution_policy === "autoscaling" && spec.execution_policy_config.workers.source === "private";
  return spec.worker_id === undefined && !privateSource;
}

/**
 * A workload's command runs as the platform's user on this machine, beside the state directory
 * (server secret, admin token). Unless told otherwise, only organisation tokens may put one here.
 */
export function localCommandsAdmission(mode: LocalCommands): WorkloadAdmission {
  return (ctx: PlatformContext, principal: Principal, project: string, spec: WorkloadSpec) => {
    if (mode === "all" || principal.project === undefined || !runsOnThisMachine(ctx, project, spec)) return;
    throw new ForbiddenError(
      `This workload would run its command on the platform's own host, as the platform's user; project-scoped tokens may not ` +
        `place workloads there under npm start. Use an organisation token, pin the workload to a private worker (worker_id), ` +
        `or start the platform with ${LOCAL_COMMANDS_SETTING}=all.`,
    );
  };
}

/**
 * Under `npm start` this machine stands in for cloud capacity: every project gets a worker for it
 * on first use, run by an in-process agent. Its nominal price per hour (default 0) lets the
 * autoscaler's cost ceiling be exercised locally.
 */
export class LocalCompute implements Compute {
  constructor(
    private readonly options: {
      hourlyPriceUsd: number;
      /** Starts (once per worker id the token authenticates as) the in-process agent for a project's local worker. */
      ensureAgent: (project: string, worker: WorkerRecord, token: string) => void;
    },
  ) {}

  async placeCloudReplica(ctx: PlatformContext, workload: WorkloadRecord): Promise<Placement> {
    const worker = await this.localWorker(ctx, workload.project);
    return { workerId: worker.id, hourlyPriceUsd: this.options.hourlyPriceUsd };
  }

  /**
   * This machine is the local workers' box, so a port can be checked for real: several platforms
   * (or anything else) may run here and the claims of one know nothing of the others.
   */
  async portUsable(workerId: string, port: number): Promise<boolean> {
    if (!this.localWorkers.has(workerId)) return true;
    return new Promise((resolve) => {
      const probe = createServer();
      probe.once("error", () => resolve(false));
      probe.listen(port, "127.0.0.1", () => probe.close(() => resolve(true)));
    });
  }

  private readonly localWorkers = new Set<string>();

  /** At start: the agents of projects that already have a local worker. */
  async restoreAgents(ctx: PlatformContext): Promise<void> {
    for (const item of await queryAll(ctx.store, { pk: keys.org(), skPrefix: keys.projectPrefix() })) {
      const project = (item.data as { slug: string }).slug;
      const worker = await findLocalWorker(ctx, project);
      if (worker) {
        this.localWorkers.add(worker.id);
        this.options.ensureAgent(project, worker, localWorkerToken(ctx.serverSecret, project));
      }
    }
  }

  /** The project's local worker, registered on first use. */
  async localWorker(ctx: PlatformContext, project: string): Promise<WorkerRecord> {
    const token = localWorkerToken(ctx.serverSecret, project);
    let worker = await findLocalWorker(ctx, project);
    if (worker === undefined) {
      try {
        const id = localWorkerId(ctx, project);
        const input = { name: "this machine (npm start)", labels: { [LOCAL_WORKER_LABEL]: "true" } };
        worker = (await storeWorker(ctx, project, input, token, id, { machine: LOCAL_MACHINE, dialHost: LOCAL_DIAL_HOST })).worker;
      } catch {
        // A concurrent first use registered it: the token item already exists.
        worker = await findLocalWorker(ctx, project);
        if (worker === undefined) throw new Error(`could not register the local worker of project ${project}`);
      }
    }
    this.localWorkers.add(worker.id);
    this.options.ensureAgent(project, worker, token);
    return worker;
  }
}

/**
 * The project's worker that stands for this machine, if it was registered: the worker its derived
 * token authenticates as (the platform's own record, at an id no registration can produce), never a
 * worker found by its labels.
 */
async function findLocalWorker(ctx: PlatformContext, project: string): Promise<WorkerRecord | undefined> {
  const token = (await getSecretItem(ctx, localWorkerToken(ctx.serverSecret, project)))?.data as { kind?: string; project?: string; worker_id?: string } | undefined;
  if (token?.kind !== "worker" || token.project !== project || token.worker_id === undefined) return undefined;
  const workerKey = keys.worker(project, token.worker_id);
  const item = await ctx.store.get(workerKey.pk, workerKey.sk);
  const worker = item?.data as WorkerRecord | undefined;
  if (item === undefined || worker === undefined || (worker.managed_by === "platform" && worker.machine === LOCAL_MACHINE && worker.dial_host === LOCAL_DIAL_HOST)) {
    return worker;
  }
  // Registered before workers carried their owner, machine and dial address: mark it (a lost race means another start did).
  const marked: WorkerRecord = { ...worker, managed_by: "platform", machine: LOCAL_MACHINE, dial_host: LOCAL_DIAL_HOST };
  await ctx.store.put({ ...workerKey, data: { ...marked } }, { kind: "version", version: item.version }).catch(() => undefined);
  return marked;
}
