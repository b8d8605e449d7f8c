import type { ReplicaRecord } from "../replicas";

/**
 * How the controller retries a slot whose replica the agent gave up on (`failed`): the agent has
 * already restarted it a few times in place, so these waits are long and grow, doubling from
 * `initialMs` to `maxMs`, counted over failures since the slot was last ready.
 */
export interface FailedRetryPolicy {
  initialMs: number;
  maxMs: number;
}

export const DEFAULT_FAILED_RETRY: FailedRetryPolicy = { initialMs: 30_000, maxMs: 30 * 60_000 };

export type RetryAction =
  /** A replica just seen failed: write when it will be replaced, so status and the gateway can say. */
  | { kind: "schedule-retry"; replica: ReplicaRecord; at: string; failuresInARow: number }
  /** Its time came: replace it with a new attempt (new id, new port, another worker when one is free). */
  | { kind: "retry"; replica: ReplicaRecord };

/**
 * The wait before retrying a slot that failed `failuresInARow` times (1 for the first failure).
 *
 * @example
 * ```ts
 * failedRetryDelayMs(1); // 30_000
 * failedRetryDelayMs(3); // 120_000
 * failedRetryDelayMs(20); // 1_800_000 (capped)
 * ```
 */
export function failedRetryDelayMs(failuresInARow: number, policy: FailedRetryPolicy = DEFAULT_FAILED_RETRY): number {
  return Math.min(policy.maxMs, policy.initialMs * 2 ** Math.min(Math.max(0, failuresInARow - 1), 30));
}

/**
 * Failed replicas of the current generation in a wanted slot: schedule their retry when first seen
 * failed, replace them once it is due. Pure and level-triggered like `planReconcile`: the schedule is
 * written on the record, so every tick (and every controller) computes the same thing from it.
 */
export function planRetries(input: {
  desired: number;
  generation: number;
  deleted: boolean;
  replicas: readonly ReplicaRecord[];
  now: Date;
  policy?: FailedRetryPolicy;
}): RetryAction[] {
  if (input.deleted) return [];
  const actions: RetryAction[] = [];
  const now = input.now.getTime();
  for (const replica of input.replicas) {
    const wanted = replica.desired === "running" && replica.generation === input.generation && replica.slot < input.desired;
    if (!wanted || replica.phase !== "failed") continue;
    if (replica.next_retry_at === undefined) {
      // A slot that served since its last failure starts the backoff again.
      const failuresInARow = (replica.ready_at === undefined ? (replica.failures_in_a_row ?? 0) : 0) + 1;
      const at = new Date(now + failedRetryDelayMs(failuresInARow, input.policy)).toISOString();
      actions.push({ kind: "schedule-retry", replica, at, failuresInARow });
    } else if (Date.parse(replica.next_retry_at) <= now) {
      actions.push({ kind: "retry", replica });
    }
  }
  return actions;
}
