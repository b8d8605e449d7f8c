import { describe, expect, it } from "vitest";
import {
  authenticateSdkToken,
  bootstrapAdminToken,
  type Compute,
  createProject,
  type DecisionChange,
  ensureWorkload,
  getWorkload,
  heartbeat,
  listWorkerReplicas,
  MemoryStore,
  type PlatformContext,
  reconcileAll,
  recordColdRequest,
  registerWorker,
  type SignalSource,
} from "../../src";

/** The three policies driven by a fake clock, with the agent simulated by heartbeats. */
async function world(start: string) {
  let clock = Date.parse(start);
  const decisions: DecisionChange[] = [];
  const events: string[] = [];
  const ctx: PlatformContext = {
    store: new MemoryStore(() => clock),
    serverSecret: "s",
    now: () => new Date(clock),
    onEvent: (project, workload, event) => events.push(`${project}/${workload} ${event.type}`),
  };
  const admin = await authenticateSdkToken(ctx, `Bearer ${(await bootstrapAdminToken(ctx))?.secret}`);
  await createProject(ctx, admin, { slug: "acme" });
  const { worker } = await registerWorker(ctx, admin, "acme", { name: "box", addresses: ["127.0.0.1"] });
  const compute: Compute = { placeCloudReplica: async () => ({ workerId: worker.id, hourlyPriceUsd: 1 }), hourlyPrice: () => 1 };
  let load: { running: number; waiting: number; peak?: number } = { running: 0, waiting: 0 };
  let rate = 0;
  const signals: SignalSource = { requestsPerMinute: () => rate, queuedJobs: () => 0 };
  const beat = async () => {
    const placed = (await listWorkerReplicas(ctx, worker.id)).map((r) => r.record);
    await heartbeat(ctx, { project: "acme", workerId: worker.id }, {
      host: { hostname: "box", advertise_host: "127.0.0.1", gpus: [] },
      replicas: placed.map((r) => ({
        replica_id: r.id,
        port: r.port,
        restarts: 0,
        state: r.desired === "stopped" ? ("stopped" as const) : ("ready" as const),
        load: {
          running_requests: load.running,
          waiting_requests: load.waiting,
          ...(load.peak === undefined ? {} : { peak_requests: load.peak, peak_window_seconds: 60 }),
          scraped_at: new Date(clock).toISOString(),
        },
      })),
    });
  };
  /** One controller tick followed by one agent heartbeat, `seconds` later. */
  const tick = async (seconds = 60) => {
    clock += seconds * 1000;
    await beat();
    await reconcileAll(ctx, compute, { signals, onDecision: (change) => decisions.push(change) });
    await beat();
  };
  const running = async (slug: string) =>
    (await listWorkerReplicas(ctx, worker.id)).filter((r) => r.record.workload === slug && r.record.desired === "running").length;
  return {
    ctx,
    admin,
    decisions,
    events,
    tick,
    running,
    setLoad: (l: { running: number; waiting: number; peak?: number }) => {
      load = l;
    },
    setRate: (r: number) => {
      rate = r;
    },
    advance: (seconds: number) => {
      clock += seconds * 1000;
    },
  };
}

const base = { name: "Bot", slug: "bot", model: "m/m", backend: "vllm" };

describe("execution policies under a fake clock", () => {
  it("scheduled window: comes up when the window opens, goes away when it closes, and says when it reopens", async () => {
    // Prepare: Friday 19:58 in Madrid (CET, UTC+1).
    const w = await world("2026-11-27T18:58:00Z");
    await ensureWorkload(w.ctx, w.admin, "acme", { ...base, execution_policy: "scheduled", execution_policy_config: { window: "Mon-Fri 08:00-20:00 Europe/Madrid" } });

    // Act + Assess
    await w.tick(0);
    expect(await w.running("bot")).toBe(1);
    await w.tick(3 * 60);
    expect(await w.running("bot")).toBe(0);
    const status = (await getWorkload(w.ctx, w.admin, "acme", "bot")).status;
    expect(status.decision).toBe("window closed, opens Mon 08:00 Europe/Madrid");
    expect(status.next_change_at).toBe("2026-11-30T07:00:00.000Z");
  });

  it("tells each new decision (onDecision) and each event (ctx.onEvent) once, naming the workload", async () => {
    // Prepare
    const w = await world("2026-11-27T18:58:00Z");
    await ensureWorkload(w.ctx, w.admin, "acme", { ...base, execution_policy: "scheduled", execution_policy_config: { window: "Mon-Fri 08:00-20:00 Europe/Madrid" } });

    // Act: the window is open, stays open a minute, then closes.
    await w.tick(0);
    await w.tick(60);
    await w.tick(2 * 60);

    // Assess
    expect(w.decisions).toEqual([
      { project: "acme", workload: "bot", desired: 1, decision: "window open, closes Fri 20:00 Europe/Madrid" },
      { project: "acme", workload: "bot", desired: 0, previousDesired: 1, decision: "window closed, opens Mon 08:00 Europe/Madrid" },
    ]);
    expect(w.events).toEqual(expect.arrayContaining(["acme/bot Created", "acme/bot ReplicaScheduled", "acme/bot ReplicaReady", "acme/bot ReplicaStopping"]));
  });

  it("cron: a run starts at the firing and ends after run_duration_minutes", async () => {
    const w = await world("2026-11-27T01:59:00Z");
    await ensureWorkload(w.ctx, w.admin, "acme", { ...base, execution_policy: "scheduled", execution_policy_config: { cron: "0 2 * * *", run_duration_minutes: 30 } });

    await w.tick(0);
    expect(await w.running("bot")).toBe(0);
    await w.tick(60);
    expect(await w.running("bot")).toBe(1);
    await w.tick(30 * 60);
    expect(await w.running("bot")).toBe(0);
  });

  it("autoscaling with min_workers 0: scales up on load, back down after stabilization, to zero after idle", async () => {
    const w = await world("2026-11-27T10:00:00Z");
    await ensureWorkload(w.ctx, w.admin, "acme", {
      ...base,
      execution_policy: "autoscaling",
      execution_policy_config: {
        min_workers: 0,
        max_workers: 3,
        max_hourly_cost_usd: 5,
        workers: { source: "cloud", cloud_pool: { gpu_pool: ["NVIDIA L4"] } },
        scale_down_stabilization_seconds: 120,
        scale_to_zero_after_seconds: 300,
      },
    });
    await w.tick(0);
    expect(await w.running("bot")).toBe(0);

    // A request at zero replicas scales up at once.
    await recordColdRequest(w.ctx, "acme", "bot");
    await w.tick(1);
    expect(await w.running("bot")).toBe(1);

    // Load: 14 waiting on one replica -> 3 workers (8 per worker, capped at max_workers 3).
    w.setLoad({ running: 8, waiting: 14 });
    await w.tick(1);
    expect(await w.running("bot")).toBe(3);
    expect((await getWorkload(w.ctx, w.admin, "acme", "bot")).status.decision).toContain("scaling 1 -> 3");

    // Load gone: held through stabilization, then to 1, then to zero after the idle period.
    w.setLoad({ running: 0, waiting: 0 });
    await w.tick(60);
    expect(await w.running("bot")).toBe(3);
    await w.tick(120);
    expect(await w.running("bot")).toBe(1);
    await w.tick(200);
    expect(await w.running("bot")).toBe(0);
  });

  it("autoscaling sizes from the peak the agents sampled since their last heartbeat, and the status names it", async () => {
    // Prepare
    const w = await world("2026-11-27T10:00:00Z");
    await ensureWorkload(w.ctx, w.admin, "acme", {
      ...base,
      command: "vllm serve m/m --max-num-seqs 4",
      execution_policy: "autoscaling",
      execution_policy_config: { min_workers: 1, max_workers: 10, max_hourly_cost_usd: 50, workers: { source: "cloud", cloud_pool: { gpu_pool: ["NVIDIA L4"] } } },
    });
    await w.tick(0);
    // Act: nothing in flight at the heartbeat, but a burst of 13 between two of them (the replicas here
    // boot at once, so the window is the agent's own 60 s).
    w.setLoad({ running: 0, waiting: 0, peak: 13 });
    await w.tick(60);
    // Assess
    expect(await w.running("bot")).toBe(4);
    expect((await getWorkload(w.ctx, w.admin, "acme", "bot")).status.decision).toBe("scaling 1 -> 4: peak 13 in flight over 60 s, 4 per replica");
  });

  it("autoscaling is held by the cost ceiling, and the status says so", async () => {
    const w = await world("2026-11-27T10:00:00Z");
    await ensureWorkload(w.ctx, w.admin, "acme", {
      ...base,
      execution_policy: "autoscaling",
      execution_policy_config: { min_workers: 1, max_workers: 5, max_hourly_cost_usd: 2.5, workers: { source: "cloud", cloud_pool: { gpu_pool: ["NVIDIA L4"] } } },
    });
    await w.tick(0);
    w.setLoad({ running: 8, waiting: 40 });
    await w.tick(1);
    expect(await w.running("bot")).toBe(2);
    expect((await getWorkload(w.ctx, w.admin, "acme", "bot")).status.decision).toContain("held at 2 by max_hourly_cost_usd");
  });
});
