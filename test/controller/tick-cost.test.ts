import { describe, expect, it } from "vitest";
import { measureTickCost } from "./tick-cost";

describe("controller tick cost", () => {
  it("reconciles 1,000 workloads in one tick in under 10 s on the embedded store", async () => {
    const result = await measureTickCost(1000);
    console.log(`tick cost: first ${result.firstTickMs.toFixed(0)} ms, steady ${result.steadyTickMs.toFixed(0)} ms for ${result.workloads} workloads`);
    expect(result.replicas).toBe(1000);
    expect(result.firstTickMs).toBeLessThan(10_000);
    expect(result.steadyTickMs).toBeLessThan(10_000);
  }, 120_000);
});
