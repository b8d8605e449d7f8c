import { createServer } from "node:net";
import {
  type Compute,
  deriveSecret,
  idFor,
  keys,
  listProjectWorkers,
  type Placement,
  type PlatformContext,
  queryAll,
  storeWorker,
  type WorkerRecord,
  type WorkloadRecord,
} from "@inferencekey/core";

export const LOCAL_WORKER_LABEL = "inferencekey.local";

/** The local machine's worker token for a project: derived from the server secret, never stored. */
export function localWorkerToken(serverSecret: string, project: string): string {
  return deriveSecret("worker", serverSecret, `local-worker:${project}`);
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
      /** Starts (once) the in-process agent for a project's local worker. */
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
        const id = idFor(ctx, "wrk", { scope: "local-worker", key: project });
        worker = (await storeWorker(ctx, project, { name: "this machine (npm start)", labels: { [LOCAL_WORKER_LABEL]: "true" } }, token, id)).worker;
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

/** The project's worker that stands for this machine, if it was registered. */
async function findLocalWorker(ctx: PlatformContext, project: string): Promise<WorkerRecord | undefined> {
  return (await listProjectWorkers(ctx, project)).find((w) => w.labels[LOCAL_WORKER_LABEL] === "true");
}
