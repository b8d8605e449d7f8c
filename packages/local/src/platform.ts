import { mkdirSync } from "node:fs";
import { join } from "node:path";
import {
  authenticateSdkToken,
  bootstrapAdminToken,
  type CapacitySettings,
  type Compute,
  type GpuCatalog,
  type NodeProvider,
  SharedCloudCompute,
  createAgentApi,
  createConsoleSite,
  createControlApi,
  createGateway,
  eventsLogPublisher,
  JobWatcher,
  LocalFileBlobStore,
  isWellFormedSecret,
  MIGRATIONS,
  migrateStore,
  type ConsoleAssetReader,
  pendingJobCount,
  type PlatformContext,
  parseServerSecretKeyring,
  recordColdRequest,
  redactSecrets,
  replicaJobExecutor,
  resetAdminToken,
  type ServerSecretKeyring,
  undiciTransport,
  type WorkerRecord,
} from "@inferencekey/core";
import { consoleAssetReader } from "./console-assets";
import { LOCAL_DIAL_HOST, type LocalCommands, LocalCompute, localCommandsAdmission } from "./local-compute";
import { LocalController } from "./local-controller";
import { LocalJobRunner } from "./local-job-runner";
import { SqliteJobQueue } from "./sqlite-job-queue";
import { type HttpServerHandle, serve } from "./node-http";
import { SqliteStore } from "./sqlite-store";
import { ensureStateDir, loadServerSecret, readDevEnv, writeDevEnv } from "./state-dir";
import { StateDirLock } from "./state-lock";
import { Terminal } from "./terminal";

export interface LocalPlatformOptions {
  /** State directory (store, server secret, dev.env, agent state). */
  dir: string;
  port: number;
  host?: string;
  log?: (line: string) => void;
  now?: () => Date;
  /** Controller tick period (EventBridge's minute, shortened for one machine). Default 2000 ms. */
  tickMs?: number;
  /** Nominal price per hour of this machine as a worker, for the cost ceiling. Default 0. */
  localHourlyPriceUsd?: number;
  /** Run this machine as a worker (in-process agent). Default true. */
  runLocalWorker?: boolean;
  /** How often expired items (events, usage, rate windows, cold marks) are deleted for good. Default 10 min. */
  purgeEveryMs?: number;
  /** Who may have commands run on this machine (`INFERENCEKEY_LOCAL_COMMANDS`). Default `organisation`. */
  localCommands?: LocalCommands;
  /** The platform's environment, from which backends get only BACKEND_ENV_NAMES (and `backendEnvNames`). Default process.env. */
  env?: NodeJS.ProcessEnv;
  /** More variables of the platform's environment backends inherit (`INFERENCEKEY_BACKEND_ENV`, e.g. HF_TOKEN). */
  backendEnvNames?: readonly string[];
  /**
   * The directory `npm start` runs in, given to backends as INFERENCEKEY_START_DIR (they run in a
   * directory of their own, so commands name the repository's files through it). Default process.cwd().
   */
  startDir?: string;
  /** Where the console's built files are read from. Default: packages/console/dist. */
  consoleAssets?: ConsoleAssetReader;
  /**
   * Shared cloud capacity for workloads that name no worker, instead of this machine: a NodeProvider
   * (the EC2 adapter, against AWS or the moto emulator) and the deployment's capacity settings
   * (`parseCapacitySettings`: the deployment-wide ceiling in dollars per hour and instances, timings).
   */
  sharedCapacity?: { provider: NodeProvider; settings?: Partial<CapacitySettings>; catalog?: GpuCatalog };
  /**
   * Job webhooks may be http and go to private addresses (loopback, LAN). Default true: this is
   * `npm start` on a developer's machine (`INFERENCEKEY_ALLOW_PRIVATE_WEBHOOKS=false` turns it off);
   * the AWS deployment never allows them.
   */
  allowPrivateWebhooks?: boolean;
}

/**
 * What backends on this machine inherit from the platform's environment: where programs and caches
 * are, and the locale. Nothing else (cloud credentials, tokens, the user's other settings).
 */
export const BACKEND_ENV_NAMES = ["PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR"] as const;

export function backendEnvironment(env: NodeJS.ProcessEnv, more: readonly string[] = []): NodeJS.ProcessEnv {
  const kept: NodeJS.ProcessEnv = {};
  for (const name of [...BACKEND_ENV_NAMES, ...more]) if (env[name] !== undefined) kept[name] = env[name];
  return kept;
}

/** Set for every backend under `npm start`: the directory the platform was started in. */
export const START_DIR_ENV = "INFERENCEKEY_START_DIR";

export interface LocalPlatform {
  url: string;
  devEnvPath: string;
  ctx: PlatformContext;
  controller: LocalController;
  /** The job queue's consumer and upkeep (tests drive `maintain()`). */
  jobs: LocalJobRunner;
  jobQueue: SqliteJobQueue;
  /** True when this start created (or replaced) the admin token written to dev.env. */
  adminTokenIssued: boolean;
  close(): Promise<void>;
}

interface RunningAgent {
  stop(options?: { stopReplicas?: boolean }): Promise<void>;
  heartbeatNow(): void;
}

/** The whole platform on one machine: embedded store, control and agent APIs, controller, local worker. */
export async function startLocalPlatform(options: LocalPlatformOptions): Promise<LocalPlatform> {
  const write = options.log ?? ((line: string) => console.log(line));
  // Every line (requests, agents, backend output) goes out with credentials and, once loaded, the server secret redacted.
  let secretForLogs: string | undefined;
  const log = (line: string) => write(redactSecrets(line, secretForLogs));
  const platformEnv = options.env ?? process.env;
  const now = options.now ?? (() => new Date());
  ensureStateDir(options.dir);
  // First of all: a second platform on this directory would adopt (and on exit stop) the first's
  // replicas and rewrite its dev.env. Throws StateDirLockedError naming the holder.
  const lock = await StateDirLock.acquire(options.dir, now);
  let keyring: ServerSecretKeyring;
  let store: SqliteStore;
  try {
    // One secret, or `version:secret` entries (current first) after a rotation, as in AWS.
    keyring = parseServerSecretKeyring(loadServerSecret(options.dir));
    secretForLogs = keyring.current.secret;
    // One clock for every component: expiry in the store and the blob files, the controller, the gateway.
    store = new SqliteStore(join(options.dir, "store.db"), { now: () => now().getTime() });
  } catch (error) {
    lock.release();
    throw error;
  }
  // Requests, decisions and events of every workload, one line each, named by the workload.
  const terminal = new Terminal({ write: log });
  const serverSecret = keyring.current.secret;
  const ctx: PlatformContext = { store, serverSecret, serverSecretKeyring: keyring, now, onEvent: (project, workload, event) => terminal.event(project, workload, event) };
  try {
    await migrateStore(ctx, MIGRATIONS, log);
  } catch (error) {
    await store.close();
    lock.release();
    throw error;
  }

  const agents = new Map<string, Promise<RunningAgent | undefined>>();
  let baseUrl = "";
  const compute = new LocalCompute({
    hourlyPriceUsd: options.localHourlyPriceUsd ?? 0,
    ensureAgent: (project: string, worker: WorkerRecord, token: string) => {
      if (options.runLocalWorker === false || agents.has(worker.id)) return;
      log(`local worker: starting the agent for project ${project} (${worker.id})`);
      // Backends start in an empty directory of their own, not beside the state directory.
      const workDir = join(options.dir, "agents", worker.id, "work");
      mkdirSync(workDir, { recursive: true, mode: 0o700 });
      agents.set(
        worker.id,
        import("@inferencekey/agent").then(({ defaultEnvsDir, startAgent }) =>
          startAgent({
            baseUrl,
            token,
            stateDir: join(options.dir, "agents", worker.id),
            advertiseHost: LOCAL_DIAL_HOST,
            cwd: workDir,
            env: backendEnvironment(platformEnv, options.backendEnvNames),
            backendEnv: { [START_DIR_ENV]: options.startDir ?? process.cwd() },
            envsDir: defaultEnvsDir(platformEnv),
            log: (line: string) => log(`[${project}] ${line}`),
          }),
        ).catch((error: unknown) => {
          // The workload stays pending (visible in its events); a later placement retries the agent.
          log(`local worker: the agent for project ${project} failed to start: ${error instanceof Error ? error.message : String(error)}`);
          agents.delete(worker.id);
          return undefined;
        }),
      );
    },
  });
  // A request or a job found no ready replica: remember it durably (the autoscaler's cold signal) and act now.
  const requestScaleUp = async (project: string, workload: string, incarnation: string) => {
    await recordColdRequest(ctx, project, workload, incarnation);
    controller.poke(project, workload);
  };
  const blobs = new LocalFileBlobStore(join(options.dir, "blobs"), { now });
  // Async jobs: a durable queue beside the store, consumed in this process.
  const jobQueue = new SqliteJobQueue(join(options.dir, "jobs-queue.db"), { now: () => now().getTime() });
  const jobWatcher = new JobWatcher();
  const allowPrivateWebhooks = options.allowPrivateWebhooks ?? true;
  const jobRunner = new LocalJobRunner({
    ctx,
    queue: jobQueue,
    executor: replicaJobExecutor(ctx, { transport: undiciTransport() }),
    blobs,
    events: eventsLogPublisher(ctx),
    log,
    allowPrivateWebhooks,
    requestScaleUp,
    onJobChange: (job) => jobWatcher.notify(job),
  });
  const gateway = createGateway(ctx, {
    requestScaleUp,
    blobs,
    jobs: { queue: jobQueue, allowPrivateWebhooks, watcher: jobWatcher },
    publicUrl: () => baseUrl || undefined,
    log,
    onRequest: (request) => terminal.request(request),
  });
  const sharedCapacity =
    options.sharedCapacity === undefined
      ? undefined
      : new SharedCloudCompute(options.sharedCapacity.provider, options.sharedCapacity.settings, {
          log,
          controllerId: `local-${process.pid}`,
          ...(options.sharedCapacity.catalog === undefined ? {} : { catalog: options.sharedCapacity.catalog }),
        });
  const controllerCompute: Compute = sharedCapacity ?? compute;
  const controller = new LocalController(ctx, controllerCompute, {
    tickMs: options.tickMs ?? 2000,
    log,
    controller: {
      controllerId: `local-${process.pid}`,
      onDecision: (change) => terminal.decision(change),
      watchingSince: ctx.now(),
      // The gateway runs in this process, so its in-memory request rate and held count are the freshest signals.
      signals: {
        requestsPerMinute: (_project, _workload, incarnation) => gateway.gatewayRequestRate(incarnation),
        heldRequests: (project, workload) => gateway.heldRequests(project, workload),
        // Queued and waiting jobs: a workload at zero scales up on its first job.
        queuedJobs: (project, workload) => pendingJobCount(ctx, project, workload),
      },
    },
    // Replicas created or stopped: the in-process agents fetch their assignments now, not at their next heartbeat.
    onReconciled: (outcome) => {
      jobRunner.reconciled(outcome);
      if (!outcome.actions.some((action) => action === "create" || action === "stop")) return;
      for (const agent of agents.values()) void agent.then((running) => running?.heartbeatNow());
    },
  });

  // Everything runs in this process, so a change reaches the gateway at once, not after its route
  // cache's 2 s: a window an ensure opened, a deleted workload, a replica that became ready.
  const workloadChanged = (project: string, slug: string) => {
    gateway.invalidate(project, slug);
    controller.poke(project, slug);
    jobRunner.workloadChanged(project, slug);
  };
  const controlApi = createControlApi(ctx, {
    ...(sharedCapacity === undefined ? {} : { catalog: sharedCapacity.catalog, catalogRegion: sharedCapacity.settings.region }),
    log,
    onWorkloadChange: workloadChanged,
    // A start that found dev.env lost or its token unusable replaced the admin token there.
    revokedAdminTokenHint: `The current admin token of this npm start is in ${join(options.dir, "dev.env")}: load it again with \`source ${join(options.dir, "dev.env")}\` (a shell that sourced an older copy still holds the revoked one).`,
    admitWorkload: localCommandsAdmission(options.localCommands ?? "organisation"),
  });
  const agentApi = createAgentApi(ctx, {
    log,
    heartbeatIntervalSeconds: 1,
    onReplicaChange: workloadChanged,
    // A local worker's first heartbeat: the placement that registered it need not wait for the next tick.
    onWorkerOnline: () => controller.pokeAll(),
  });
  // `/` and `/console/...`: the dashboard's static files (whatever else is the API's, JSON 404s included).
  const consoleSite = createConsoleSite(options.consoleAssets ?? consoleAssetReader());
  const handler = async (request: Request): Promise<Response> => {
    const path = new URL(request.url).pathname;
    if (path.startsWith("/endpoint/")) return gateway.handle(request);
    if (path.startsWith("/agent/")) return agentApi(request);
    return (await consoleSite(request)) ?? controlApi(request);
  };

  let http: HttpServerHandle;
  try {
    http = await serve(handler, {
      port: options.port,
      ...(options.host === undefined ? {} : { host: options.host }),
      direct: { prefix: "/endpoint/", serve: gateway.serve },
    });
  } catch (error) {
    await store.close();
    lock.release();
    throw error;
  }
  baseUrl = http.url;
  lock.serving(http.url);

  const devEnvPath = join(options.dir, "dev.env");
  const adminTokenIssued = await ensureDevEnv(ctx, devEnvPath, http.url);
  // Agents of projects that already have a local worker come back with the platform.
  await compute.restoreAgents(ctx);
  controller.start();
  jobRunner.start();
  // Reads already skip expired items; this keeps the file bounded (what DynamoDB's TTL does in AWS).
  const purge = () => {
    try {
      const purged = store.purgeExpired();
      if (purged > 0) log(`store: purged ${purged} expired items`);
    } catch (error) {
      log(`store: purging expired items failed: ${error instanceof Error ? error.message : String(error)}`);
    }
  };
  purge();
  const purgeTimer = setInterval(purge, options.purgeEveryMs ?? 600_000);
  purgeTimer.unref();

  return {
    url: http.url,
    devEnvPath,
    ctx,
    controller,
    jobs: jobRunner,
    jobQueue,
    adminTokenIssued,
    close: async () => {
      clearInterval(purgeTimer);
      await jobRunner.stop();
      await controller.stop();
      await gateway.close();
      terminal.close();
      await Promise.all([...agents.values()].map(async (agent) => (await agent)?.stop({ stopReplicas: true })));
      await http.close();
      await store.close();
      jobQueue.close();
      lock.release();
    },
  };
}

/**
 * dev.env holds the organisation admin token, the one place it exists in plaintext. On first start
 * the token is created; later starts keep it (rewriting only the URL if the port changed); if the
 * file was lost or its token no longer works, a new admin token replaces the old one.
 */
async function ensureDevEnv(ctx: PlatformContext, path: string, baseUrl: string): Promise<boolean> {
  const created = await bootstrapAdminToken(ctx);
  if (created) {
    writeDevEnv(path, { baseUrl, sdkToken: created.secret });
    return true;
  }
  const existing = readDevEnv(path);
  const usable =
    existing.sdkToken !== undefined &&
    isWellFormedSecret("sdk", existing.sdkToken) &&
    (await authenticateSdkToken(ctx, `Bearer ${existing.sdkToken}`).then(
      (p) => p.admin,
      () => false,
    ));
  if (usable && existing.sdkToken !== undefined) {
    if (existing.baseUrl !== baseUrl) writeDevEnv(path, { baseUrl, sdkToken: existing.sdkToken });
    return false;
  }
  const replaced = await resetAdminToken(ctx);
  writeDevEnv(path, { baseUrl, sdkToken: replaced.secret });
  return true;
}
