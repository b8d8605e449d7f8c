import { describe, expect, it } from "vitest";
import { buildFleet, measureFanOutTick, measureSequentialTick } from "./fanout/fleet";

/**
 * The controller fan-out benchmark at a tenth of its scale (`npm run bench:fanout` runs 10,000
 * workloads in 500 projects; docs/benchmarks.md): 50 projects x 20 workloads, 5 ms per store call,
 * 50 concurrent project passes.
 */
describe("controller fan-out cost", () => {
  it("1,000 workloads in 50 projects reconcile in a few seconds with 5 ms store calls, at the per-workload cost of the sequential tick", async () => {
    // Prepare
    const fleet = await buildFleet(50, 20);
    const reference = await buildFleet(2, 20);

    // Act
    const first = await measureFanOutTick(fleet, { concurrency: 50, latencyMs: 5 });
    await fleet.reportReady();
    const steady = await measureFanOutTick(fleet, { concurrency: 50, latencyMs: 5 });
    await reference.reportReady();
    await measureSequentialTick(reference, 0);
    const sequential = await measureSequentialTick(reference, 5);

    // Assess
    const perWorkload = (m: typeof steady) => Object.values(m.calls).reduce((a, b) => a + b, 0) / m.workloads;
    console.log(
      `fan-out: first ${first.wallMs.toFixed(0)} ms (${perWorkload(first).toFixed(2)} calls/workload), steady ${steady.wallMs.toFixed(0)} ms (${perWorkload(steady).toFixed(2)} calls/workload, ${(steady.cpuMs / steady.workloads).toFixed(2)} ms CPU/workload); sequential steady ${(sequential.wallMs / sequential.workloads).toFixed(1)} ms/workload`,
    );
    expect(first.reconciled).toBe(1000);
    expect(first.failed).toBe(0);
    expect(steady.reconciled).toBe(1000);
    // The project pass adds one marker read per project to what each workload costs on its own.
    expect(perWorkload(steady)).toBeLessThanOrEqual(perWorkload(sequential) + 0.1);
    expect(steady.wallMs).toBeLessThan(10_000);
    // Sequentially the same 1,000 workloads would take 1,000 x the per-workload time.
    expect(steady.wallMs * 5).toBeLessThan((sequential.wallMs / sequential.workloads) * 1000);
  }, 120_000);
});
