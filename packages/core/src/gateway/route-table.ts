import { keys, type PlatformContext } from "../platform/context";
import { listWorkloadReplicas, type ReplicaRecord, replicaSecret } from "../replicas";
import { type WorkloadRecord, workloadIncarnation } from "../workloads";
import { GatewayError } from "./errors";
import { TtlCache } from "./ttl-cache";
import { KeyedWaiters } from "./keyed-waiters";

/** A ready replica as the proxy needs it: where to connect and the bearer it requires. */
export interface UpstreamReplica {
  id: string;
  host: string;
  port: number;
  /** `Bearer <replicaSecret>`, derived once per replica id. */
  authorization: string;
  /** Set when the replica sits behind its worker's TLS front: the only certificate to accept. */
  certificateSha256: string | undefined;
}

export interface RouteInfo {
  /** Undefined when the workload does not exist or was deleted. */
  workload: WorkloadRecord | undefined;
  /** The workload's incarnation (`workloadIncarnation`), derived once per route read. */
  incarnation: string | undefined;
  /** Replicas with desired "running" and phase "ready", at a well-formed address. */
  ready: UpstreamReplica[];
  /** Set when every running replica has failed and none is starting or ready: nothing will serve soon. */
  failure?: WorkloadFailure;
}

/** Why a workload cannot serve: the agent's reason for a failed replica and the controller's next retry. */
export interface WorkloadFailure {
  reason: string;
  /** When the controller replaces a failed replica (null until it has scheduled it). */
  nextRetryAt: string | null;
}

/**
 * The failure that keeps a workload from serving, when every replica meant to run has failed and
 * none is pending, starting or ready (one starting may yet serve: that is scaling up, not failed).
 */
export function workloadFailure(replicas: readonly ReplicaRecord[]): WorkloadFailure | undefined {
  let failed: ReplicaRecord | undefined;
  let nextRetryAt: string | undefined;
  for (const replica of replicas) {
    if (replica.desired !== "running") continue;
    if (replica.phase !== "failed") return undefined;
    failed ??= replica;
    const at = replica.next_retry_at;
    if (at !== undefined && (nextRetryAt === undefined || at < nextRetryAt)) nextRetryAt = at;
  }
  if (failed === undefined) return undefined;
  return { reason: failed.reason ?? "the backend failed (no reason reported)", nextRetryAt: nextRetryAt ?? null };
}

export interface RouteCacheOptions {
  /** How long a workload's route (record + ready replicas) is reused. Default 2000. */
  ttlMs: number;
  /** How long "no such workload" is remembered. Default 1000. */
  negativeTtlMs: number;
  maxEntries: number;
  /** A replica that refused a connection is skipped this long (unless it is the only one). Default 5000. */
  downMs: number;
}

export const DEFAULT_ROUTE_CACHE: RouteCacheOptions = { ttlMs: 2000, negativeTtlMs: 1000, maxEntries: 10_000, downMs: 5000 };

const HOSTNAME = /^[A-Za-z0-9](?:[A-Za-z0-9.-]{0,252}[A-Za-z0-9])?$/;

/** Only a plain host name or IPv4 literal and a numeric port: a stored address cannot smuggle a path. */
export function isValidReplicaAddress(host: unknown, port: unknown): boolean {
  return (
    typeof host === "string" &&
    HOSTNAME.test(host) &&
    typeof port === "number" &&
    Number.isInteger(port) &&
    port > 0 &&
    port < 65536
  );
}

export function isServing(record: ReplicaRecord): boolean {
  return record.desired === "running" && record.phase === "ready";
}

/**
 * The route table: per workload, its record and ready replicas, cached for a short TTL so the
 * steady state makes no store read per request. Also tracks outstanding requests per replica
 * (least-outstanding choice) and replicas recently found unreachable.
 */
export class RouteTable {
  private readonly cache: TtlCache<RouteInfo>;
  private readonly outstanding = new Map<string, number>();
  private readonly downUntil = new Map<string, number>();
  private readonly secrets = new Map<string, string>();
  /** Requests held for a workload's first ready replica, woken by `invalidate`. */
  private readonly waiters = new KeyedWaiters();
  private rotation = 0;

  constructor(
    private readonly ctx: PlatformContext,
    private readonly options: RouteCacheOptions,
  ) {
    this.cache = new TtlCache<RouteInfo>({
      now: () => ctx.now().getTime(),
      ttlMs: (info) => (info.workload === undefined ? options.negativeTtlMs : options.ttlMs),
      maxEntries: options.maxEntries,
    });
  }

  /** Cached route, synchronously when fresh. */
  get(project: string, workload: string): RouteInfo | Promise<RouteInfo> {
    const id = `${project}/${workload}`;
    const entry = this.cache.fresh(id);
    if (entry !== undefined) return entry.value;
    return this.cache.load(id, () => this.read(project, workload));
  }

  /** Reads the store now (joining a read in flight), e.g. while a request waits for a replica. */
  refresh(project: string, workload: string): Promise<RouteInfo> {
    const id = `${project}/${workload}`;
    this.cache.delete(id);
    return this.cache.load(id, () => this.read(project, workload));
  }

  /**
   * The workload or its replicas changed (an ensure, a delete, a replica's phase): the next request
   * reads the store, and requests held for a ready replica look again now.
   */
  invalidate(project: string, workload: string): void {
    const id = `${project}/${workload}`;
    this.cache.invalidate(id);
    this.waiters.wake(id);
  }

  /** Resolves after `ms`, when `signal` aborts, or as soon as the workload is invalidated, whichever is first. */
  changeOrTimeout(project: string, workload: string, ms: number, signal: AbortSignal): Promise<void> {
    return this.waiters.wait(`${project}/${workload}`, ms, signal);
  }


  /** Least outstanding requests among ready replicas not tried yet; recently unreachable ones last. */
  pick(ready: UpstreamReplica[], tried: ReadonlySet<string>): UpstreamReplica | undefined {
    const now = this.ctx.now().getTime();
    let best: UpstreamReplica | undefined;
    let bestScore = Number.POSITIVE_INFINITY;
    const n = ready.length;
    // Start at a rotating offset so ties spread over replicas instead of piling on the first.
    const offset = n > 1 ? this.rotation++ % n : 0;
    for (let i = 0; i < n; i++) {
      const replica = ready[(i + offset) % n];
      if (replica === undefined || tried.has(replica.id)) continue;
      const down = (this.downUntil.get(replica.id) ?? 0) > now;
      const score = (this.outstanding.get(replica.id) ?? 0) + (down ? 1_000_000 : 0);
      if (score < bestScore) {
        best = replica;
        bestScore = score;
      }
    }
    return best;
  }

  acquire(replicaId: string): void {
    this.outstanding.set(replicaId, (this.outstanding.get(replicaId) ?? 0) + 1);
  }

  release(replicaId: string): void {
    const left = (this.outstanding.get(replicaId) ?? 1) - 1;
    if (left <= 0) this.outstanding.delete(replicaId);
    else this.outstanding.set(replicaId, left);
  }

  markDown(replicaId: string): void {
    this.downUntil.set(replicaId, this.ctx.now().getTime() + this.options.downMs);
  }

  markUp(replicaId: string): void {
    if (this.downUntil.size > 0) this.downUntil.delete(replicaId);
  }

  private async read(project: string, workload: string): Promise<RouteInfo> {
    try {
      const key = keys.workload(project, workload);
      const item = await this.ctx.store.get(key.pk, key.sk);
      const record = item?.data as WorkloadRecord | undefined;
      if (record === undefined || record.deleted_at !== undefined) return { workload: undefined, incarnation: undefined, ready: [] };
      const incarnation = workloadIncarnation(record);
      const replicas = await listWorkloadReplicas(this.ctx, project, workload);
      const ready: UpstreamReplica[] = [];
      for (const { record: replica } of replicas) {
        if (!isServing(replica) || !isValidReplicaAddress(replica.host, replica.port)) continue;
        // A former life's replica (the slug was deleted and re-created) never serves the new one.
        if (replica.incarnation !== undefined && replica.incarnation !== incarnation) continue;
        ready.push({
          id: replica.id,
          host: replica.host,
          port: replica.port,
          authorization: this.secretOf(replica.id),
          certificateSha256: replica.front_certificate_sha256,
        });
      }
      const failure = ready.length === 0 ? workloadFailure(replicas.map((r) => r.record)) : undefined;
      return failure === undefined ? { workload: record, incarnation, ready } : { workload: record, incarnation, ready, failure };
    } catch (error) {
      if (error instanceof GatewayError) throw error;
      throw new GatewayError(503, "store_unavailable", "The workload's route cannot be read right now; retry shortly.", {
        retryAfterSeconds: 2,
      });
    }
  }

  private secretOf(replicaId: string): string {
    let secret = this.secrets.get(replicaId);
    if (secret === undefined) {
      secret = `Bearer ${replicaSecret(this.ctx.serverSecret, replicaId)}`;
      if (this.secrets.size > 10_000) this.secrets.clear();
      this.secrets.set(replicaId, secret);
    }
    return secret;
  }
}
