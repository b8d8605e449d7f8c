import { cronRunState, formatInZone, nextWindowChange, parseCron, parseWindow } from "../schedule";
import type { WorkloadSpec } from "../spec/schema";

/** Default length of a cron-started run when `run_duration_minutes` is not given. */
export const DEFAULT_CRON_RUN_MINUTES = 60;

export interface PolicyState {
  /** Replicas the policy wants right now, before load signals (autoscaling starts at its floor). */
  desiredReplicas: number;
  /** A sentence a person can read: why that number. */
  decision: string;
  /** For schedules: when the decision next flips. */
  nextChangeAt?: string;
}

/** What the execution policy asks for at `now`, from the spec alone. */
export function policyState(spec: WorkloadSpec, now: Date): PolicyState {
  switch (spec.execution_policy) {
    case "fixed": {
      const n = spec.execution_policy_config.replicas;
      return { desiredReplicas: n, decision: n === 0 ? "fixed at 0 replicas: stopped" : `fixed at ${n} replica${n === 1 ? "" : "s"}` };
    }
    case "scheduled": {
      const config = spec.execution_policy_config;
      if (config.window !== undefined) {
        const parsed = parseWindow(config.window, config.timezone);
        if (!parsed.ok) return { desiredReplicas: 0, decision: `window cannot be read: ${parsed.error.message}` };
        const state = nextWindowChange(parsed.value, now);
        const when = formatInZone(state.changesAt, parsed.value.timeZone);
        if (state.steady) return { desiredReplicas: state.open ? config.replicas : 0, decision: state.open ? "window always open" : "window never opens" };
        return state.open
          ? { desiredReplicas: config.replicas, decision: `window open, closes ${when}`, nextChangeAt: state.changesAt.toISOString() }
          : { desiredReplicas: 0, decision: `window closed, opens ${when}`, nextChangeAt: state.changesAt.toISOString() };
      }
      const cron = parseCron(config.cron ?? "", config.timezone ?? "UTC");
      if (!cron.ok) return { desiredReplicas: 0, decision: `cron cannot be read: ${cron.error.message}` };
      const runMinutes = config.run_duration_minutes ?? DEFAULT_CRON_RUN_MINUTES;
      const state = cronRunState(cron.value, runMinutes, now);
      const when = formatInZone(state.changesAt, cron.value.timeZone);
      if (state.steady && state.open) return { desiredReplicas: config.replicas, decision: "cron runs overlap: running continuously" };
      return state.open
        ? { desiredReplicas: config.replicas, decision: `cron run in progress, ends ${when}`, nextChangeAt: state.changesAt.toISOString() }
        : { desiredReplicas: 0, decision: `waiting for cron "${cron.value.expression}", next run ${when}`, nextChangeAt: state.changesAt.toISOString() };
    }
    case "autoscaling": {
      const min = spec.execution_policy_config.min_workers;
      return {
        desiredReplicas: min,
        decision: min === 0 ? "scaled to zero until load arrives (min_workers 0)" : `at the floor of ${min} (min_workers)`,
      };
    }
  }
}
