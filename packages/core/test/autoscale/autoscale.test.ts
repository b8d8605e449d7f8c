import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type AutoscaleSignals, type AutoscalingConfig, decideWorkers, effectiveBounds, readableNumber } from "../../src";

const cloud = (over: Partial<AutoscalingConfig> = {}): AutoscalingConfig => ({
  min_workers: 0,
  max_workers: 5,
  max_hourly_cost_usd: 10,
  workers: { source: "cloud", cloud_pool: { gpu_pool: ["NVIDIA L4"], max_hourly_cost_usd: 8, max_instances: 4 } },
  ...over,
});

const quiet: AutoscaleSignals = { current: 0, runningRequests: 0, waitingRequests: 0, requestsPerMinute: 0, queuedJobs: 0, coldRequest: false, pricePerWorkerHour: 1 };
const t0 = new Date("2026-11-27T10:00:00Z");
const later = (seconds: number) => new Date(t0.getTime() + seconds * 1000);

describe("decideWorkers", () => {
  it("effective bounds: the lower of max_workers and max_instances, the lower of the two cost ceilings", () => {
    expect(effectiveBounds(cloud())).toEqual({ min: 0, max: 4, costCeilingUsd: 8 });
  });

  it("scales up at once on one high reading, and says why", () => {
    const decision = decideWorkers(cloud(), { ...quiet, current: 1, runningRequests: 8, waitingRequests: 14 }, {}, t0);
    expect(decision.desired).toBe(3);
    expect(decision.reason).toBe("scaling 1 -> 3: 8 running + 14 waiting requests");
  });

  it("a request at zero replicas triggers an immediate scale-up to one", () => {
    expect(decideWorkers(cloud(), { ...quiet, coldRequest: true }, {}, t0).desired).toBe(1);
  });

  it("scales down only after a sustained low (stabilization window)", () => {
    const config = cloud({ min_workers: 1 });
    const low = { ...quiet, current: 3, runningRequests: 4 };
    const first = decideWorkers(config, low, {}, t0);
    const during = decideWorkers(config, low, first.memory, later(299));
    const after = decideWorkers(config, low, during.memory, later(300));
    expect([first.desired, during.desired, after.desired]).toEqual([3, 3, 1]);
    expect(during.reason).toContain("waiting 1 s more before scaling down");
  });

  it("min_workers forbids going lower: says it is at the floor, never 'waiting N s more before scaling down'", () => {
    // Prepare: one warm worker kept by min_workers 1, and no load.
    const config = cloud({ min_workers: 1 });
    const idle = { ...quiet, current: 1 };

    // Act
    const first = decideWorkers(config, idle, {}, t0);
    const next = decideWorkers(config, idle, first.memory, later(1));

    // Assess
    expect([first.desired, next.desired]).toEqual([1, 1]);
    expect(first.reason).toBe("at the floor of 1 (min_workers); no load");
    expect(next.reason).not.toContain("before scaling down");
    expect(next.memory.lowSince).toBeUndefined();
  });

  it("above the floor, a scale-down waits for stabilization and then stops at min_workers, saying so", () => {
    // Prepare
    const config = cloud({ min_workers: 2 });
    const idle = { ...quiet, current: 3 };

    // Act
    const first = decideWorkers(config, idle, {}, t0);
    const after = decideWorkers(config, idle, first.memory, later(300));

    // Assess
    expect(first.reason).toBe("holding 3: no load, waiting 300 s more before scaling down");
    expect(after.desired).toBe(2);
    expect(after.reason).toBe("scaling 3 -> 2: no load for 300 s");
  });

  it("decision texts round measured rates: 2.7166333333333332 requests/min reads 2.72", () => {
    // Prepare
    const config = cloud({ target_requests_per_minute_per_worker: 1 });

    // Act
    const decision = decideWorkers(config, { ...quiet, current: 1, requestsPerMinute: 2.7166333333333332 }, {}, t0);

    // Assess
    expect(decision.reason).toBe("scaling 1 -> 3: 2.72 requests/min");
  });

  it("readableNumber: integers as they are, at most two decimals, a tiny positive value reads <0.01", () => {
    expect([3, 2.7166333333333332, 0.5, 59.999, 0.004321, 9.5e-7, 0].map(readableNumber)).toEqual(["3", "2.72", "0.5", "60", "<0.01", "<0.01", "0"]);
  });

  it("property: a decision text never shows a number with more than two decimals", () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0, max: 10_000, noNaN: true }),
        fc.double({ min: 0, max: 20, noNaN: true }),
        fc.integer({ min: 0, max: 4 }),
        (requestsPerMinute, pricePerWorkerHour, current) => {
          const decision = decideWorkers(cloud({ target_requests_per_minute_per_worker: 7 }), { ...quiet, current, requestsPerMinute, pricePerWorkerHour }, {}, t0);
          expect(decision.reason).not.toMatch(/\d\.\d{3,}|e-\d/);
        },
      ),
    );
  });

  it("scales to zero after the idle period when min_workers is 0", () => {
    const config = cloud({ scale_to_zero_after_seconds: 600 });
    const busy = decideWorkers(config, { ...quiet, current: 1, runningRequests: 1 }, {}, t0);
    const idle = decideWorkers(config, { ...quiet, current: 1 }, busy.memory, later(599));
    const gone = decideWorkers(config, { ...quiet, current: 1 }, idle.memory, later(600));
    expect([idle.desired, gone.desired]).toEqual([1, 0]);
    expect(gone.reason).toBe("scaling 1 -> 0: idle for 600 s");
  });

  it("is held by the cost ceiling and says so", () => {
    const decision = decideWorkers(cloud(), { ...quiet, current: 1, waitingRequests: 100, pricePerWorkerHour: 3 }, {}, t0);
    expect(decision.desired).toBe(2);
    expect(decision.reason).toContain("held at 2 by max_hourly_cost_usd");
  });

  it("is held by max_instances", () => {
    const decision = decideWorkers(cloud(), { ...quiet, current: 1, waitingRequests: 100, pricePerWorkerHour: 0.5 }, {}, t0);
    expect(decision).toMatchObject({ desired: 4 });
    expect(decision.reason).toContain("held at 4 by max_instances");
  });

  it("property: never above max, never above what the cost ceiling affords, never below min unless the ceiling forces it", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 10 }),
        fc.integer({ min: 1, max: 20 }),
        fc.double({ min: 0.1, max: 50, noNaN: true }),
        fc.double({ min: 0, max: 10, noNaN: true }),
        fc.record({
          current: fc.integer({ min: 0, max: 25 }),
          runningRequests: fc.integer({ min: 0, max: 500 }),
          waitingRequests: fc.integer({ min: 0, max: 500 }),
          requestsPerMinute: fc.integer({ min: 0, max: 10_000 }),
          queuedJobs: fc.integer({ min: 0, max: 1000 }),
          coldRequest: fc.boolean(),
        }),
        fc.integer({ min: 0, max: 7200 }),
        (min, extra, ceiling, price, signals, elapsed) => {
          const config = cloud({ min_workers: min, max_workers: min + extra, max_hourly_cost_usd: ceiling, workers: { source: "cloud", cloud_pool: { gpu_pool: ["NVIDIA L4"] } } });
          const first = decideWorkers(config, { ...signals, pricePerWorkerHour: price }, {}, t0);
          const decision = decideWorkers(config, { ...signals, pricePerWorkerHour: price }, first.memory, later(elapsed));
          const affordable = price > 0 ? Math.floor(ceiling / price + 1e-9) : Number.POSITIVE_INFINITY;
          expect(decision.desired).toBeLessThanOrEqual(min + extra);
          expect(decision.desired * price).toBeLessThanOrEqual(ceiling + 1e-9);
          expect(decision.desired).toBeGreaterThanOrEqual(Math.min(min, affordable));
        },
      ),
      { numRuns: 500 },
    );
  });
});
