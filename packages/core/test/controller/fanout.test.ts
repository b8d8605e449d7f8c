import { describe, expect, it } from "vitest";
import {
  authenticateSdkToken,
  bootstrapAdminToken,
  type Compute,
  createProject,
  ensureWorkload,
  fanOutTick,
  heartbeat,
  InProcessProjectDispatcher,
  listWorkloadReplicas,
  MemoryStore,
  type PlatformContext,
  type ProjectPassResult,
  type ProjectTick,
  queryAll,
  readUsage,
  reconcileAll,
  registerWorker,
  replicaKeys,
  runProjectTick,
  UsageRecorder,
  usageKeys,
  usageRollUpMarker,
} from "../../src";

/** `projects` projects of `perProject` fixed one-replica workloads, each project with one online worker. */
async function fleet(projects: number, perProject: number) {
  let clock = Date.parse("2030-03-04T10:00:00Z");
  const ctx: PlatformContext = { store: new MemoryStore(() => clock), serverSecret: "s", now: () => new Date(clock) };
  const admin = await authenticateSdkToken(ctx, `Bearer ${(await bootstrapAdminToken(ctx))?.secret}`);
  const workers = new Map<string, string>();
  for (let p = 0; p < projects; p++) {
    const project = `p${p}`;
    await createProject(ctx, admin, { slug: project });
    const { worker } = await registerWorker(ctx, admin, project, { name: "box", addresses: ["127.0.0.1"] });
    await heartbeat(ctx, { project, workerId: worker.id }, { host: { hostname: "box", advertise_host: "127.0.0.1", gpus: [] }, replicas: [] });
    workers.set(project, worker.id);
    for (let w = 0; w < perProject; w++) {
      await ensureWorkload(ctx, admin, project, { name: `w${w}`, slug: `w${w}`, model: "m/m", backend: "vllm" });
    }
  }
  const compute: Compute = {
    placeCloudReplica: async (_ctx, workload) => ({ workerId: workers.get(workload.project) as string, hourlyPriceUsd: 0 }),
  };
  const replicas = async () => {
    const all = [];
    for (let p = 0; p < projects; p++) for (let w = 0; w < perProject; w++) all.push(...(await listWorkloadReplicas(ctx, `p${p}`, `w${w}`)));
    return all.map((r) => r.record);
  };
  return { ctx, compute, replicas, workers, advance: (ms: number) => (clock += ms) };
}

describe("controller fan-out per project", () => {
  it("reconciles every workload of every project, the same as one sequential tick", async () => {
    // Prepare
    const fanned = await fleet(6, 4);
    const sequential = await fleet(6, 4);
    const passes: ProjectPassResult[] = [];
    const dispatcher = new InProcessProjectDispatcher(fanned.ctx, fanned.compute, { concurrency: 3, onPass: (_t, r) => passes.push(r) });

    // Act
    const { projects } = await fanOutTick(fanned.ctx, dispatcher);
    await reconcileAll(sequential.ctx, sequential.compute);

    // Assess
    expect(projects).toBe(6);
    expect(passes).toHaveLength(6);
    expect(passes.flatMap((p) => p.outcomes).filter((o) => !o.skipped)).toHaveLength(24);
    expect(passes.flatMap((p) => p.failed)).toEqual([]);
    const shape = (rs: { project: string; workload: string; port: number }[]) => rs.map((r) => `${r.project}/${r.workload}:${r.port}`).sort();
    expect(shape(await fanned.replicas())).toEqual(shape(await sequential.replicas()));
  });

  it("leases hold under fan-out: every project delivered twice at once (SQS at least once, overlapping ticks) still places each replica once", async () => {
    // Prepare
    const t = await fleet(4, 5);
    const outcomes: { workload: string; skipped: boolean }[] = [];
    const onPass = (tick: ProjectTick, r: ProjectPassResult) => {
      for (const o of r.outcomes) outcomes.push({ workload: `${tick.project}/${o.workload}`, skipped: o.skipped === true });
    };
    const one = new InProcessProjectDispatcher(t.ctx, t.compute, { concurrency: 4, controllerId: "invocation-a", onPass });
    const two = new InProcessProjectDispatcher(t.ctx, t.compute, { concurrency: 4, controllerId: "invocation-b", onPass });

    // Act
    await Promise.all([fanOutTick(t.ctx, one), fanOutTick(t.ctx, two)]);

    // Assess: 20 workloads, 40 visits; whoever lost a lease skipped; exactly one replica and one port claim each.
    const replicas = await t.replicas();
    expect(replicas).toHaveLength(20);
    expect(new Set(replicas.map((r) => `${r.project}/${r.workload}`)).size).toBe(20);
    for (const [project, workerId] of t.workers) {
      const claims = await queryAll(t.ctx.store, { pk: replicaKeys.port(workerId, 0).pk });
      expect(claims.map((c) => c.data.replica).sort()).toEqual(replicas.filter((r) => r.project === project).map((r) => r.id).sort());
    }
    const acted = outcomes.filter((o) => !o.skipped).map((o) => o.workload);
    expect(new Set(acted).size).toBe(20);
  });

  it("fencing holds under fan-out: a pass whose lease lapsed while it waited writes nothing once another pass took over", async () => {
    // Prepare: pass A waits inside the placement until released; meanwhile its 30 s lease lapses.
    const t = await fleet(1, 1);
    const gates: (() => void)[] = [];
    const slow: Compute = {
      placeCloudReplica: async (ctx, workload, slot) => {
        await new Promise<void>((release) => gates.push(release));
        return t.compute.placeCloudReplica(ctx, workload, slot);
      },
    };
    const tick = () => ({ project: "p0", tick: t.ctx.now().toISOString() });
    const passA = runProjectTick(t.ctx, slow, tick(), { controllerId: "invocation-a" });
    await new Promise((r) => setTimeout(r, 20));
    t.advance(31_000);
    await heartbeat(t.ctx, { project: "p0", workerId: t.workers.get("p0") as string }, { host: { hostname: "box", advertise_host: "127.0.0.1", gpus: [] }, replicas: [] });

    // Act
    const passB = await runProjectTick(t.ctx, t.compute, tick(), { controllerId: "invocation-b" });
    for (const release of gates) release();
    const a = await passA;

    // Assess
    expect(passB?.outcomes.filter((o) => !o.skipped)).toHaveLength(1);
    expect(a?.failed.map((f) => f.workload)).toEqual(["w0"]);
    expect(a?.failed[0]?.error).toMatch(/no longer at version/);
    expect(await t.replicas()).toHaveLength(1);
    const claims = await queryAll(t.ctx.store, { pk: replicaKeys.port(t.workers.get("p0") as string, 0).pk });
    expect(claims).toHaveLength(1);
  });

  it("a pass whose tick is older than two minutes is dropped: a newer tick covers the project", async () => {
    // Prepare
    const t = await fleet(1, 1);
    const lines: string[] = [];
    const stale: ProjectTick = { project: "p0", tick: new Date(t.ctx.now().getTime() - 180_000).toISOString() };

    // Act
    const result = await runProjectTick(t.ctx, t.compute, stale, { log: (l) => lines.push(l) });
    const malformed = await runProjectTick(t.ctx, t.compute, { project: "p0", tick: "yesterday" }, { log: (l) => lines.push(l) });

    // Assess
    expect(result).toBeUndefined();
    expect(malformed).toBeUndefined();
    expect(await t.replicas()).toEqual([]);
    expect(lines.join("\n")).toContain("dropped the pass of p0");
  });

  it("one workload's failure is reported and the project's other workloads are still reconciled", async () => {
    // Prepare: placing p0/w1 throws.
    const t = await fleet(1, 3);
    const compute: Compute = {
      placeCloudReplica: async (ctx, workload, slot) => {
        if (workload.slug === "w1") throw new Error("capacity API down");
        return t.compute.placeCloudReplica(ctx, workload, slot);
      },
    };

    // Act
    const result = await runProjectTick(t.ctx, compute, { project: "p0", tick: t.ctx.now().toISOString() });

    // Assess
    expect(result?.failed).toEqual([{ workload: "w1", error: "capacity API down" }]);
    expect((await t.replicas()).map((r) => r.workload).sort()).toEqual(["w0", "w2"]);
  });

  it("the project pass rolls up the last closed hour of usage once, and readers then use the roll-up", async () => {
    // Prepare: one request at 10:05, then the pass runs at 11:30 (10:00-10:59 closed at 11:20).
    const t = await fleet(1, 1);
    const recorder = new UsageRecorder(t.ctx, { instanceId: "gw_a", flushIntervalMs: 0 });
    t.advance(5 * 60_000);
    recorder.record("p0", "w0", { keyId: "key_1", status: 200, latencyMs: 20 });
    await recorder.flush();
    t.advance(85 * 60_000);

    // Act
    await runProjectTick(t.ctx, t.compute, { project: "p0", tick: t.ctx.now().toISOString() });
    const marker = await t.ctx.store.get(usageRollUpMarker("p0").pk, usageRollUpMarker("p0").sk);
    const rollUps = await queryAll(t.ctx.store, { pk: usageKeys.rollUpPartition("p0", "w0") });
    await runProjectTick(t.ctx, t.compute, { project: "p0", tick: t.ctx.now().toISOString() });
    const report = await readUsage(t.ctx, "p0", "w0", { from: "2030-03-04T10:00:00Z", to: "2030-03-04T11:00:00Z" });

    // Assess
    expect(marker?.data).toEqual({ hour: "2030-03-04T10" });
    expect(rollUps.map((i) => i.sk)).toEqual(["2030-03-04T10#keys#0000", "2030-03-04T10#minutes"]);
    expect(report.totals.requests).toBe(1);
  });
});
