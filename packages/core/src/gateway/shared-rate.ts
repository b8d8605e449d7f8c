import { ConditionFailedError } from "../errors";
import type { PlatformContext } from "../platform/context";
import type { SlidingWindowCounter } from "./rate-window";

const WINDOW_MS = 60_000;
const MAX_CLAIM_ATTEMPTS = 5;

/** Where the claimed share of a key's limit for one minute is counted. */
export function rateBudgetKey(keyId: string, windowStartMs: number): { pk: string; sk: string } {
  return { pk: `RATE#${keyId}`, sk: new Date(windowStartMs).toISOString() };
}

interface Budget {
  window: number;
  /** Requests this instance may still admit in `window` without asking the store. */
  remaining: number;
  /** The store said the whole limit of `window` is claimed. */
  exhausted: boolean;
  claiming: Promise<void> | undefined;
}

export interface SharedRateLimiterOptions {
  /** A claim takes 1/slices of the limit (at least 1 request). Default 10. */
  slices?: number;
  /** Used when the store cannot be reached: each instance limits on its own meanwhile. */
  fallback: SlidingWindowCounter;
  log?: (line: string) => void;
}

/**
 * Per-key requests-per-minute limits that hold across every gateway instance (Lambda concurrency):
 * fixed one-minute windows, counted in the store. An instance claims a slice of the key's limit
 * with a conditional write and spends it in memory, so the store sees about `slices` writes per key
 * per minute per instance, not one per request, and the requests admitted in a minute never exceed
 * the limit. A slice an instance holds is not available to the others, so a load spread over many
 * instances can meet 429 a little before the limit. If the store fails, each instance falls back to
 * its own sliding window (the limit then holds per instance) rather than refusing traffic.
 */
export class SharedRateLimiter {
  private readonly budgets = new Map<string, Budget>();

  constructor(
    private readonly ctx: PlatformContext,
    private readonly options: SharedRateLimiterOptions,
  ) {}

  /** 0 when admitted, else the seconds to wait; synchronous while this instance holds budget. */
  admit(keyId: string, limit: number): number | Promise<number> {
    const now = this.ctx.now().getTime();
    const budget = this.budget(keyId, now);
    if (budget.remaining > 0) {
      budget.remaining--;
      return 0;
    }
    if (budget.exhausted) return secondsToNextWindow(now);
    return this.claimThenAdmit(keyId, limit, budget);
  }

  private budget(keyId: string, now: number): Budget {
    const window = now - (now % WINDOW_MS);
    let budget = this.budgets.get(keyId);
    if (budget === undefined || budget.window !== window) {
      if (budget === undefined && this.budgets.size >= 100_000) this.prune(window);
      budget = { window, remaining: 0, exhausted: false, claiming: undefined };
      this.budgets.set(keyId, budget);
    }
    return budget;
  }

  private async claimThenAdmit(keyId: string, limit: number, budget: Budget): Promise<number> {
    // A burst waits on one claim after another until it is served or the window is spent; an
    // instance can never win more claims per window than there are slices.
    const maxClaims = (this.options.slices ?? 10) + 2;
    for (let claims = 0; claims < maxClaims; claims++) {
      try {
        budget.claiming ??= this.claim(keyId, limit, budget).finally(() => {
          budget.claiming = undefined;
        });
        await budget.claiming;
      } catch (error) {
        this.options.log?.(
          `gateway: shared rate limit unavailable (${error instanceof Error ? error.message : String(error)}); limiting per instance meanwhile`,
        );
        return this.options.fallback.admit(keyId, limit);
      }
      if (budget.remaining > 0) {
        budget.remaining--;
        return 0;
      }
      const now = this.ctx.now().getTime();
      if (budget.exhausted) return secondsToNextWindow(now);
      // The minute turned while claiming: the old window's budget is gone, start on the new one.
      if (now - (now % WINDOW_MS) !== budget.window) return this.admit(keyId, limit);
    }
    // Concurrent requests of this instance kept spending each new slice first: ask the client to come back.
    return 1;
  }

  /** Adds a slice of the limit to this instance's budget, or marks the window exhausted. */
  private async claim(keyId: string, limit: number, budget: Budget): Promise<void> {
    const slice = Math.max(1, Math.ceil(limit / (this.options.slices ?? 10)));
    const { pk, sk } = rateBudgetKey(keyId, budget.window);
    for (let attempt = 0; attempt < MAX_CLAIM_ATTEMPTS; attempt++) {
      const item = await this.ctx.store.get(pk, sk);
      const claimed = typeof item?.data.claimed === "number" ? item.data.claimed : 0;
      const grant = Math.min(slice, limit - claimed);
      if (grant <= 0) {
        budget.exhausted = true;
        return;
      }
      try {
        await this.ctx.store.put(
          // Kept a little past its minute; DynamoDB's TTL removes it.
          { pk, sk, expiresAt: Math.floor(budget.window / 1000) + 180, data: { claimed: claimed + grant, limit } },
          item === undefined ? { kind: "absent" } : { kind: "version", version: item.version },
        );
        budget.remaining += grant;
        return;
      } catch (error) {
        if (!(error instanceof ConditionFailedError)) throw error;
      }
    }
  }

  private prune(window: number): void {
    for (const [keyId, budget] of this.budgets) if (budget.window !== window) this.budgets.delete(keyId);
  }
}

function secondsToNextWindow(now: number): number {
  return Math.max(1, Math.ceil((WINDOW_MS - (now % WINDOW_MS)) / 1000));
}
