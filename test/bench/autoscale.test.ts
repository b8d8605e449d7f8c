import { describe, expect, it } from "vitest";
import { judgeGoals, runScenario } from "./autoscale/bench";

/**
 * The smoke version of `npm run bench:autoscale`: the code trace's first 10 minutes at CAP 8 through
 * the production controller tick. The full replay (both traces, CAP 8 and 4, the goals) is the
 * benchmark itself; this keeps its machinery and the policy's direction checked on every `npm test`.
 */
describe("autoscaler trace replay (smoke: code trace, 10 minutes, CAP 8)", () => {
  it("replays through reconcileAll and beats the reactive baseline on stranding, below peak-fixed on cost", async () => {
    // Act
    const scenario = await runScenario("code", { cap: 8, minutes: 10 });

    // Assess: the baselines are what their definitions give.
    const row = (policy: string) => scenario.rows.find((r) => r.policy.startsWith(policy));
    const [oracle, fixed, reactive, ours, waiting] = ["oracle", "peak-fixed", "reactive", "ours", "ours, stranded requests wait"].map(row);
    if (!oracle || !fixed || !reactive || !ours || !waiting) throw new Error(`missing rows: ${scenario.rows.map((r) => r.policy).join(", ")}`);
    expect(oracle.stranded).toBe(0);
    expect(fixed.stranded).toBe(0);
    expect(fixed.gpuHours).toBeGreaterThan(oracle.gpuHours);
    expect(reactive.stranded).toBeGreaterThan(0);

    // Our policy: fewer than half the reactive's stranded requests, cheaper than the peak-fixed fleet.
    expect(ours.stranded).toBeLessThan(reactive.stranded / 2);
    expect(ours.gpuHours).toBeLessThan(fixed.gpuHours);
    expect(ours.gpuHours).toBeGreaterThan(oracle.gpuHours);

    // Wait mode: stranded requests wait, and their added wait is measured.
    expect(waiting.stranded).toBeGreaterThan(0);
    expect(waiting.waitP50).toBeGreaterThan(0);
    expect(waiting.waitP99).toBeGreaterThanOrEqual(waiting.waitP50 ?? 0);

    // Every change names the signal that drove it.
    expect(scenario.decisions.length).toBeGreaterThan(0);
    for (const decision of scenario.decisions) {
      expect(decision).toMatch(/^t=\d+ min: scaling \d+ -> \d+: (peak \d+ in flight over \d+ (min|s), \d+ per replica|idle for \d+ s)/);
    }

    // A partial replay judges no goal (the goals are about whole traces).
    expect(judgeGoals([scenario])).toEqual([]);
  }, 60_000);
});
