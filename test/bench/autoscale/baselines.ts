/**
 * The three reference fleets the autoscaler is measured against, per minute of the trace:
 * need[m] = ceil(peak in flight in minute m / CAP).
 * - oracle: exactly need[m] ready every minute (instant boot, perfect foresight);
 * - peak-fixed: max(need) all the time;
 * - reactive (dstack-like): targets need[m-1]; scales up when the target exceeds ready + pending and
 *   `upMinutes` have passed since its last change (the new replicas ready `bootMinutes` later), scales
 *   down to the target when `downMinutes` have passed; starts warm at need[0].
 */

export interface Fleet {
  /** Ready replicas per minute. */
  ready: number[];
  /** Replicas paid per minute (ready + booting). */
  paid: number[];
  scaleUps: number;
  scaleDowns: number;
  /** Replicas stopped less than 10 minutes after they became ready (or before). */
  stoppedSoon: number;
}

export function needPerMinute(peakPerMinute: readonly number[], cap: number): number[] {
  return peakPerMinute.map((peak) => Math.ceil(peak / cap));
}

export function oracleFleet(need: readonly number[]): Fleet {
  let ups = 0;
  let downs = 0;
  for (let m = 1; m < need.length; m++) {
    if ((need[m] as number) > (need[m - 1] as number)) ups++;
    if ((need[m] as number) < (need[m - 1] as number)) downs++;
  }
  return { ready: [...need], paid: [...need], scaleUps: ups, scaleDowns: downs, stoppedSoon: 0 };
}

export function peakFixedFleet(need: readonly number[]): Fleet {
  const peak = Math.max(0, ...need);
  const all = need.map(() => peak);
  return { ready: all, paid: [...all], scaleUps: 0, scaleDowns: 0, stoppedSoon: 0 };
}

export function reactiveFleet(need: readonly number[], options: { bootMinutes: number; upMinutes?: number; downMinutes?: number }): Fleet {
  const upMinutes = options.upMinutes ?? 5;
  const downMinutes = options.downMinutes ?? 10;
  /** Ready-at minute of each replica, oldest first; stopped replicas leave. */
  let replicas: number[] = Array.from({ length: need[0] ?? 0 }, () => 0);
  let lastChange = 0;
  const ready: number[] = [];
  const paid: number[] = [];
  let scaleUps = 0;
  let scaleDowns = 0;
  let stoppedSoon = 0;
  for (let m = 0; m < need.length; m++) {
    if (m >= 1) {
      const target = need[m - 1] as number;
      if (target > replicas.length && m - lastChange >= upMinutes) {
        for (let i = replicas.length; i < target; i++) replicas.push(m + options.bootMinutes);
        lastChange = m;
        scaleUps++;
      } else if (target < replicas.length && m - lastChange >= downMinutes) {
        // The newest go first.
        const stopped = replicas.slice(target);
        stoppedSoon += stopped.filter((readyAt) => m - readyAt < 10).length;
        replicas = replicas.slice(0, target);
        lastChange = m;
        scaleDowns++;
      }
    }
    ready.push(replicas.filter((readyAt) => readyAt <= m).length);
    paid.push(replicas.length);
  }
  return { ready, paid, scaleUps, scaleDowns, stoppedSoon };
}
