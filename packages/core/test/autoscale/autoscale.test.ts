import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  type AutoscaleMemory,
  type AutoscaleSignals,
  type AutoscalingConfig,
  bootSecondsOf,
  capacityFromCommand,
  decideWorkers,
  effectiveBounds,
  effectiveKnobs,
  readableNumber,
} from "../../src";

const cloud = (over: Partial<AutoscalingConfig> = {}): AutoscalingConfig => ({
  min_workers: 0,
  max_workers: 5,
  max_hourly_cost_usd: 10,
  workers: { source: "cloud", cloud_pool: { gpu_pool: ["NVIDIA L4"], max_hourly_cost_usd: 8, max_instances: 4 } },
  ...over,
});

/** Room to move: 1 to 10 workers, no instance or cost limit in the way. */
const wide = (over: Partial<AutoscalingConfig> = {}) =>
  cloud({ min_workers: 1, max_workers: 10, max_hourly_cost_usd: 100, workers: { source: "cloud", cloud_pool: { gpu_pool: ["NVIDIA L4"] } }, ...over });

const quiet: AutoscaleSignals = {
  current: 0,
  inFlight: 0,
  loadReported: true,
  requestsPerMinute: 0,
  queuedJobs: 0,
  coldRequest: false,
  pricePerWorkerHour: 1,
};
const t0 = new Date("2026-11-27T10:00:00Z");
const later = (seconds: number) => new Date(t0.getTime() + seconds * 1000);
const iso = (seconds: number) => later(seconds).toISOString();
/** `n` ready replicas that booted in `bootSeconds`, the newest ready at `readyAt` seconds. */
const readyReplicas = (n: number, readyAt = -3600, bootSeconds = 300) =>
  Array.from({ length: n }, () => ({ created_at: iso(readyAt - bootSeconds), ready_at: iso(readyAt), booting: false }));

/** Runs one decision per entry, `every` seconds apart, feeding each one's memory and count to the next. */
function run(config: AutoscalingConfig, readings: Partial<AutoscaleSignals>[], start: { current: number; memory?: AutoscaleMemory }, every = 60) {
  let memory = start.memory ?? {};
  let current = start.current;
  return readings.map((reading, i) => {
    const decision = decideWorkers(config, { ...quiet, replicas: readyReplicas(current), ...reading, current }, memory, later(i * every));
    memory = decision.memory;
    current = decision.desired;
    return decision;
  });
}

describe("decideWorkers", () => {
  it("effective bounds: the lower of max_workers and max_instances, the lower of the two cost ceilings", () => {
    expect(effectiveBounds(cloud())).toEqual({ min: 0, max: 4, costCeilingUsd: 8 });
  });

  it("scales up at once on one high reading, and names the signal", () => {
    const decision = decideWorkers(cloud(), { ...quiet, current: 1, replicas: readyReplicas(1), inFlight: 22 }, {}, t0);
    expect(decision.desired).toBe(3);
    expect(decision.reason).toBe("scaling 1 -> 3: peak 22 in flight over 5 min, 8 per replica");
  });

  it("takes the per-replica target from the command (vLLM --max-num-seqs, sglang --max-running-requests); the config wins", () => {
    expect(capacityFromCommand("vllm serve m --max-num-seqs 4 --max-model-len 8192")).toBe(4);
    expect(capacityFromCommand("python -m sglang.launch_server --max-running-requests=16")).toBe(16);
    expect(capacityFromCommand("vllm serve m --max-num-seqs-extra 4")).toBeUndefined();
    expect(capacityFromCommand("vllm serve m")).toBeUndefined();
    expect(effectiveKnobs(cloud(), "vllm serve m --max-num-seqs 4").target_concurrency_per_worker).toBe(4);
    expect(effectiveKnobs(cloud({ target_concurrency_per_worker: 6 }), "vllm serve m --max-num-seqs 4").target_concurrency_per_worker).toBe(6);
    expect(effectiveKnobs(cloud(), "vllm serve m").target_concurrency_per_worker).toBe(8);

    const decision = decideWorkers(cloud(), { ...quiet, current: 1, replicas: readyReplicas(1), inFlight: 10 }, {}, t0, { command: "vllm serve m --max-num-seqs 4" });
    expect(decision.reason).toBe("scaling 1 -> 3: peak 10 in flight over 5 min, 4 per replica");
  });

  it("headroom sizes above the peak", () => {
    const decision = decideWorkers(cloud({ headroom: 0.25 }), { ...quiet, current: 1, replicas: readyReplicas(1), inFlight: 16 }, {}, t0);
    expect(decision.desired).toBe(3);
    expect(decision.reason).toBe("scaling 1 -> 3: peak 16 in flight over 5 min, 8 per replica, 25% headroom");
  });

  it("a burst stays in the sizing for the boot time: the count does not drop before new capacity could be up", () => {
    const config = wide();
    const decisions = run(config, [{ inFlight: 30 }, { inFlight: 2 }, { inFlight: 2 }, { inFlight: 2 }, { inFlight: 2 }], { current: 4 });
    expect(decisions.map((d) => d.desired)).toEqual([4, 4, 4, 4, 4]);
    expect(decisions[4]?.reason).toContain("peak 30 in flight over 5 min");
  });

  it("sizes from the p90 of observed boot times (300 s until one is observed)", () => {
    expect(bootSecondsOf({})).toBe(300);
    const slow = readyReplicas(1, -10, 600);
    const decision = decideWorkers(cloud(), { ...quiet, current: 1, replicas: slow, inFlight: 20 }, {}, t0);
    expect(decision.bootSeconds).toBe(600);
    expect(decision.reason).toContain("over 10 min");
    expect(decision.memory.boots).toEqual([600]);
    // The same replica is not counted twice.
    expect(decideWorkers(cloud(), { ...quiet, current: 3, replicas: slow }, decision.memory, later(60)).memory.boots).toEqual([600]);
  });

  it("scales down after the stabilization window, only to what the window's peak needs", () => {
    const config = wide();
    // 40 in flight, then 12 for good: 5 workers need 2 once the burst has left both windows.
    const readings = [{ inFlight: 40 }, ...Array.from({ length: 11 }, () => ({ inFlight: 12 }))];
    const decisions = run(config, readings, { current: 5 });
    expect(decisions.map((d) => d.desired)).toEqual([5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 2, 2]);
    expect(decisions[9]?.reason).toBe("holding 5: peak 40 in flight over 10 min, 8 per replica");
    expect(decisions[10]?.reason).toBe("scaling 5 -> 2: peak 12 in flight over 10 min, 8 per replica");
  });

  it("the stabilization window restarts after every change: a lower reading right after a scale-down waits again", () => {
    const config = wide({ scale_down_stabilization_seconds: 120, demand_window_seconds: 0 });
    const memory: AutoscaleMemory = { changedAt: iso(-3600), demand: [] };
    // Boot time 60 s (observed), window 60 s: each reading is its own peak.
    const replicas = readyReplicas(6, -3600, 60);
    const first = decideWorkers(config, { ...quiet, current: 6, replicas, inFlight: 30 }, memory, t0);
    const lower = decideWorkers(config, { ...quiet, current: first.desired, replicas: replicas.slice(0, first.desired), inFlight: 8 }, first.memory, later(60));
    const after = decideWorkers(config, { ...quiet, current: lower.desired, replicas: replicas.slice(0, lower.desired), inFlight: 8 }, lower.memory, later(180));
    expect([first.desired, lower.desired, after.desired]).toEqual([4, 4, 1]);
    expect(lower.reason).toContain("waiting 60 s more before scaling down");
  });

  it("does not scale down while replicas are still booting, and the window starts when the newest is ready", () => {
    const config = wide();
    const booting = [...readyReplicas(2), { created_at: iso(-200), booting: true }];
    const held = decideWorkers(config, { ...quiet, current: 3, replicas: booting }, { changedAt: iso(-3600) }, t0);
    expect(held.desired).toBe(3);
    expect(held.reason).toContain("1 replica(s) still booting");
    const justReady = [...readyReplicas(2), { created_at: iso(-200), ready_at: iso(100), booting: false }];
    const soon = decideWorkers(config, { ...quiet, current: 3, replicas: justReady }, held.memory, later(160));
    expect(soon.desired).toBe(3);
    expect(soon.reason).toContain("waiting 240 s more before scaling down");
  });

  it("a failed replica does not hold a scale-down the way a booting one does", () => {
    const failed = [...readyReplicas(2), { created_at: iso(-200), booting: false }];
    const decision = decideWorkers(wide(), { ...quiet, current: 3, replicas: failed }, { changedAt: iso(-3600) }, t0);
    expect(decision.desired).toBe(1);
  });

  it("an idle workload's memory does not change from tick to tick (no state write per tick)", () => {
    const config = cloud({ min_workers: 1 });
    const first = decideWorkers(config, { ...quiet, current: 1, replicas: readyReplicas(1) }, { changedAt: iso(-3600) }, t0);
    const second = decideWorkers(config, { ...quiet, current: 1, replicas: readyReplicas(1) }, first.memory, later(60));
    expect(second.memory).toEqual(first.memory);
  });

  it("announces no countdown when min_workers forbids going lower", () => {
    const decision = decideWorkers(wide({ min_workers: 2 }), { ...quiet, current: 2, replicas: readyReplicas(2), inFlight: 3 }, { changedAt: t0.toISOString() }, later(10));
    expect(decision.desired).toBe(2);
    expect(decision.reason).toBe("at the floor of 2 (min_workers); peak 3 in flight over 5 min, 8 per replica");
  });

  it("a request at zero replicas triggers an immediate scale-up to one", () => {
    expect(decideWorkers(cloud(), { ...quiet, coldRequest: true }, {}, t0).desired).toBe(1);
  });

  it("requests held by the gateway size the scale-up from zero", () => {
    const decision = decideWorkers(cloud(), { ...quiet, heldRequests: 20, coldRequest: true }, {}, t0);
    expect(decision.desired).toBe(3);
    expect(decision.reason).toBe("scaling 0 -> 3: peak 20 in flight over 5 min, 8 per replica");
  });

  it("the request rate sizes backends without load metrics, and workloads whose config sets its target", () => {
    expect(decideWorkers(cloud(), { ...quiet, current: 1, replicas: readyReplicas(1), loadReported: false, requestsPerMinute: 130 }, {}, t0).desired).toBe(3);
    expect(decideWorkers(cloud(), { ...quiet, current: 1, replicas: readyReplicas(1), requestsPerMinute: 130 }, {}, t0).desired).toBe(1);
    const set = decideWorkers(cloud({ target_requests_per_minute_per_worker: 50 }), { ...quiet, current: 1, replicas: readyReplicas(1), requestsPerMinute: 130 }, {}, t0);
    expect(set.desired).toBe(3);
    expect(set.reason).toBe("scaling 1 -> 3: 130 requests/min, 50 per replica");
  });

  it("decision texts round measured rates: 2.7166333333333332 requests/min reads 2.72", () => {
    // Prepare
    const config = cloud({ target_requests_per_minute_per_worker: 1 });

    // Act
    const decision = decideWorkers(config, { ...quiet, current: 1, requestsPerMinute: 2.7166333333333332 }, {}, t0);

    // Assess
    expect(decision.reason).toBe("scaling 1 -> 3: 2.72 requests/min, 1 per replica");
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
    const busy = decideWorkers(config, { ...quiet, current: 1, replicas: readyReplicas(1), inFlight: 1 }, { changedAt: iso(-3600) }, t0);
    const idle = decideWorkers(config, { ...quiet, current: 1, replicas: readyReplicas(1) }, busy.memory, later(599));
    const gone = decideWorkers(config, { ...quiet, current: 1, replicas: readyReplicas(1) }, idle.memory, later(600));
    expect([idle.desired, gone.desired]).toEqual([1, 0]);
    expect(gone.reason).toBe("scaling 1 -> 0: idle for 600 s");
  });

  it("with nothing remembered, a zero reading starts the idle clock instead of scaling straight to zero", () => {
    // Prepare: min_workers 0, three replicas running, no autoscaler memory (a fresh controller state).
    const config = cloud({ scale_to_zero_after_seconds: 900 });

    // Act
    const first = decideWorkers(config, { ...quiet, current: 3, replicas: readyReplicas(3) }, {}, t0);
    const later900 = decideWorkers(config, { ...quiet, current: first.desired, replicas: readyReplicas(first.desired) }, first.memory, later(900));

    // Assess: one warm worker for the idle period, zero only after it.
    expect(first.desired).toBe(1);
    expect(first.reason).not.toContain("Infinity");
    expect(first.memory.lastActiveAt).toBe(t0.toISOString());
    expect(later900.desired).toBe(0);
    expect(later900.reason).toBe("scaling 1 -> 0: idle for 900 s");
  });

  it("is held by the cost ceiling and says so", () => {
    const decision = decideWorkers(cloud(), { ...quiet, current: 1, inFlight: 100, pricePerWorkerHour: 3 }, {}, t0);
    expect(decision.desired).toBe(2);
    expect(decision.reason).toContain("held at 2 by max_hourly_cost_usd");
  });

  it("is held by max_instances", () => {
    const decision = decideWorkers(cloud(), { ...quiet, current: 1, inFlight: 100, pricePerWorkerHour: 0.5 }, {}, t0);
    expect(decision).toMatchObject({ desired: 4 });
    expect(decision.reason).toContain("held at 4 by max_instances");
  });

  it("keeps its memory bounded: demand samples older than both windows are dropped", () => {
    let memory: AutoscaleMemory = {};
    for (let i = 0; i < 500; i++) memory = decideWorkers(cloud(), { ...quiet, current: 1, inFlight: i % 7 }, memory, later(i * 10)).memory;
    expect(memory.demand?.length).toBeLessThanOrEqual(67);
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
          inFlight: fc.integer({ min: 0, max: 1000 }),
          heldRequests: fc.integer({ min: 0, max: 500 }),
          loadReported: fc.boolean(),
          requestsPerMinute: fc.integer({ min: 0, max: 10_000 }),
          queuedJobs: fc.integer({ min: 0, max: 1000 }),
          coldRequest: fc.boolean(),
        }),
        fc.integer({ min: 0, max: 7200 }),
        fc.double({ min: 0, max: 2, noNaN: true }),
        (min, extra, ceiling, price, signals, elapsed, headroom) => {
          const config = cloud({
            min_workers: min,
            max_workers: min + extra,
            max_hourly_cost_usd: ceiling,
            headroom,
            workers: { source: "cloud", cloud_pool: { gpu_pool: ["NVIDIA L4"] } },
          });
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
