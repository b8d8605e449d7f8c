import { ConditionFailedError } from "../errors";
import { randomBase62 } from "../ids";
import type { PlatformContext } from "../platform/context";

/** A request's hold on one of its key's concurrency slots; `release` is called once, when the answer ends. */
export interface ConcurrencyLease {
  release(): void;
}

/**
 * Per-key limits on requests in flight at once (`max_concurrent_requests`). `acquire` answers a
 * lease, or the seconds the caller should wait before retrying when every slot is taken.
 */
export interface ConcurrencyLimiter {
  acquire(keyId: string, limit: number): ConcurrencyLease | number | Promise<ConcurrencyLease | number>;
  /** Resolves once every release this instance started has reached the store. */
  drain(): Promise<void>;
  close(): void;
}

/** Retry-After of a refusal: a slot frees when any request of the key ends, usually within seconds. */
export const CONCURRENCY_RETRY_AFTER_SECONDS = 1;

/** Counts in this process: exact for the single local gateway. */
export class LocalConcurrencyLimiter implements ConcurrencyLimiter {
  private readonly inFlight = new Map<string, number>();

  acquire(keyId: string, limit: number): ConcurrencyLease | number {
    const count = this.inFlight.get(keyId) ?? 0;
    if (count >= limit) return CONCURRENCY_RETRY_AFTER_SECONDS;
    this.inFlight.set(keyId, count + 1);
    let released = false;
    return {
      release: () => {
        if (released) return;
        released = true;
        const left = (this.inFlight.get(keyId) ?? 1) - 1;
        if (left <= 0) this.inFlight.delete(keyId);
        else this.inFlight.set(keyId, left);
      },
    };
  }

  async drain(): Promise<void> {}

  close(): void {}
}

/** Where a key's leases are counted. */
export function concurrencyKey(keyId: string): { pk: string; sk: string } {
  return { pk: `CONC#${keyId}`, sk: "leases" };
}

interface LeaseItemData {
  /** Lease id -> epoch ms until which it holds unless renewed. */
  leases: Record<string, number>;
}

export interface SharedConcurrencyLimiterOptions {
  /** How long a lease holds without renewal: what a crashed instance costs its key at most. Default 60000. */
  leaseMs?: number;
  /**
   * Leases older than this are no longer renewed, so a request whose end was never seen (a bug, a
   * body nobody read) cannot hold a slot for ever. Above every request's own bound. Default 1200000 (20 min).
   */
  maxHoldMs?: number;
  /** Used when the store cannot be reached: each instance limits on its own meanwhile. */
  fallback: ConcurrencyLimiter;
  log?: (line: string) => void;
}

const MAX_WRITE_ATTEMPTS = 8;

/**
 * Per-key concurrency limits that hold across every gateway instance (Lambda runs one request per
 * instance): one store item per key holds the leases of its requests in flight, each with an
 * expiry. Acquiring adds a lease with a conditional write only while fewer than `limit` leases are
 * live; releasing removes it. Leases this instance holds are renewed every third of `leaseMs` while
 * their requests run, so a long stream keeps its slot, and an instance that dies mid-request frees
 * its slots within `leaseMs`. Two store round trips per request and per release; a key's leases share
 * one item, so one key sustains some hundreds of acquisitions per second (DynamoDB's per-item write
 * rate), far above what a concurrency limit is set for. If the store fails, the fallback counts per
 * instance rather than refusing traffic.
 */
export class SharedConcurrencyLimiter implements ConcurrencyLimiter {
  /** Live leases of this instance, per key: lease id -> when it was acquired (epoch ms). */
  private readonly held = new Map<string, Map<string, number>>();
  private readonly pending = new Set<Promise<void>>();
  private readonly leaseMs: number;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly ctx: PlatformContext,
    private readonly options: SharedConcurrencyLimiterOptions,
  ) {
    this.leaseMs = options.leaseMs ?? 60_000;
  }

  async acquire(keyId: string, limit: number): Promise<ConcurrencyLease | number> {
    const leaseId = randomBase62(12);
    let admitted: boolean;
    try {
      admitted = await this.change(keyId, (leases, now) => {
        if (Object.keys(leases).length >= limit) return false;
        leases[leaseId] = now + this.leaseMs;
        return true;
      });
    } catch (error) {
      this.options.log?.(
        `gateway: shared concurrency limit unavailable (${error instanceof Error ? error.message : String(error)}); limiting per instance meanwhile`,
      );
      return this.options.fallback.acquire(keyId, limit);
    }
    if (!admitted) return CONCURRENCY_RETRY_AFTER_SECONDS;
    this.hold(keyId, leaseId);
    let released = false;
    return {
      release: () => {
        if (released) return;
        released = true;
        this.unhold(keyId, leaseId);
        this.track(
          this.change(keyId, (leases) => {
            delete leases[leaseId];
            return true;
          }).then(
            () => undefined,
            (error: unknown) => {
              // The lease expires on its own within leaseMs.
              this.options.log?.(`gateway: releasing a concurrency lease failed: ${error instanceof Error ? error.message : String(error)}`);
            },
          ),
        );
      },
    };
  }

  async drain(): Promise<void> {
    while (this.pending.size > 0) await Promise.all([...this.pending]);
  }

  close(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Renews every lease this instance holds (what the timer runs); exposed for tests. */
  async renew(): Promise<void> {
    await Promise.all(
      [...this.held].map(async ([keyId, leaseIds]) => {
        try {
          await this.change(keyId, (leases, now) => {
            for (const [id, acquiredAt] of leaseIds) {
              if (now - acquiredAt < (this.options.maxHoldMs ?? 1_200_000)) leases[id] = now + this.leaseMs;
            }
            return true;
          });
        } catch (error) {
          this.options.log?.(`gateway: renewing concurrency leases failed: ${error instanceof Error ? error.message : String(error)}`);
        }
      }),
    );
  }

  /**
   * Read, let `edit` change the live leases (expired ones dropped), write back conditionally on the
   * version read; a lost race re-reads. `edit` returning false writes nothing.
   */
  private async change(keyId: string, edit: (leases: Record<string, number>, now: number) => boolean): Promise<boolean> {
    const { pk, sk } = concurrencyKey(keyId);
    for (let attempt = 0; attempt < MAX_WRITE_ATTEMPTS; attempt++) {
      const item = await this.ctx.store.get(pk, sk);
      const now = this.ctx.now().getTime();
      const leases: Record<string, number> = {};
      for (const [id, until] of Object.entries((item?.data as LeaseItemData | undefined)?.leases ?? {})) {
        if (typeof until === "number" && until > now) leases[id] = until;
      }
      if (!edit(leases, now)) return false;
      const latest = Math.max(now, ...Object.values(leases));
      try {
        await this.ctx.store.put(
          // Kept a minute past its last lease; DynamoDB's TTL removes an idle key's item.
          { pk, sk, expiresAt: Math.ceil(latest / 1000) + 60, data: { leases } },
          item === undefined ? { kind: "absent" } : { kind: "version", version: item.version },
        );
        return true;
      } catch (error) {
        if (!(error instanceof ConditionFailedError)) throw error;
      }
    }
    throw new ConditionFailedError(pk, sk);
  }

  private hold(keyId: string, leaseId: string): void {
    let leases = this.held.get(keyId);
    if (leases === undefined) {
      leases = new Map();
      this.held.set(keyId, leases);
    }
    leases.set(leaseId, this.ctx.now().getTime());
    if (this.timer === undefined) {
      this.timer = setInterval(() => this.track(this.renew()), Math.max(1000, Math.floor(this.leaseMs / 3)));
      this.timer.unref();
    }
  }

  private unhold(keyId: string, leaseId: string): void {
    const leases = this.held.get(keyId);
    leases?.delete(leaseId);
    if (leases?.size === 0) this.held.delete(keyId);
    if (this.held.size === 0) this.close();
  }

  private track(work: Promise<void>): void {
    this.pending.add(work);
    void work.finally(() => this.pending.delete(work));
  }
}
