import { type CamelKeys, camelKeys, type Simplify } from "../casing";
import type { UsageReport as UsageReportWire, UsageSummary as UsageSummaryWire } from "@inferencekey/core";
import type { CallOptions } from "../http/http-client";

/** The usage report as the control API sends it (snake_case): core's own types. */
export type { UsageReportWire, UsageSummaryWire };

/**
 * Counters of a workload's data-plane traffic over a range: `requests`, `errors` (status >= 400
 * or a stream that broke off), `cancelled` (the client went away), `promptTokens`,
 * `completionTokens`, `totalTokens`, `unmetered` (successful answers that reported no usage),
 * and latency in ms (`latencyMsAvg`, `latencyMsMax`, and `latencyMsP50` / `latencyMsP99`, the
 * upper bound of the histogram bucket holding them).
 *
 * @example
 * ```ts
 * const { totals }: { totals: UsageSummary } = await mgmt.usage("support-bot");
 * console.log(totals.requests, totals.totalTokens, `${totals.latencyMsP99} ms p99`);
 * ```
 */
export type UsageSummary = Simplify<CamelKeys<UsageSummaryWire>>;

/**
 * What `mgmt.usage()` returns: the workload's usage between `from` (inclusive, rounded down to
 * the minute) and `to` (exclusive), as `totals`, per data key (`byKey[]`, with `keyId`) and per
 * minute (`byMinute[]`, with `minute` as `2025-06-02T10:05`, ascending). camelCase throughout.
 *
 * @example
 * ```ts
 * const usage: WorkloadUsage = await mgmt.usage("support-bot", { from: new Date(Date.now() - 3_600_000) });
 * for (const k of usage.byKey) console.log(k.keyId, k.requests, k.totalTokens);
 * ```
 */
export interface WorkloadUsage {
  project: string;
  workload: string;
  from: string;
  to: string;
  totals: UsageSummary;
  /** On shared cloud capacity: the workload's GPUs' share of its nodes' prices over the UTC hours starting in the range (USD, estimated). */
  estimatedCostUsd?: number;
  byKey: Simplify<UsageSummary & { keyId: string }>[];
  byMinute: Simplify<UsageSummary & { minute: string }>[];
}

/**
 * Options of `mgmt.usage()`: the range (ISO 8601 strings or `Date`s; the server's default range
 * applies to what is omitted) and call options.
 *
 * @example
 * ```ts
 * const options: UsageOptions = { from: "2025-06-01T00:00:00Z", to: new Date("2025-06-02T00:00:00Z") };
 * const usage = await mgmt.usage("billing", options);
 * ```
 */
export interface UsageOptions extends CallOptions {
  from?: string | Date | undefined;
  to?: string | Date | undefined;
}

/** The wire report in camelCase, summaries included. */
export function toWorkloadUsage(wire: UsageReportWire): WorkloadUsage {
  return {
    project: wire.project,
    workload: wire.workload,
    from: wire.from,
    to: wire.to,
    totals: camelKeys(wire.totals),
    ...(wire.estimated_cost_usd === undefined ? {} : { estimatedCostUsd: wire.estimated_cost_usd }),
    byKey: (wire.by_key ?? []).map((row) => camelKeys(row)),
    byMinute: (wire.by_minute ?? []).map((row) => camelKeys(row)),
  };
}
