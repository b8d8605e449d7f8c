import { describe, expect, it } from "vitest";
import {
  authenticateSdkToken,
  bootstrapAdminToken,
  type Compute,
  createProject,
  ensureWorkload,
  FenceLostError,
  fencedStore,
  heartbeat,
  listWorkerReplicas,
  MemoryStore,
  type PlatformContext,
  reconcileWorkload,
  registerWorker,
} from "../../src";

/** A workload on shared capacity whose placement waits until the test lets it go. */
async function prepare() {
  let clock = Date.parse("2030-03-04T10:00:00Z");
  const ctx: PlatformContext = { store: new MemoryStore(() => clock), serverSecret: "s", now: () => new Date(clock) };
  const admin = await authenticateSdkToken(ctx, `Bearer ${(await bootstrapAdminToken(ctx))?.secret}`);
  await createProject(ctx, admin, { slug: "acme" });
  const { worker } = await registerWorker(ctx, admin, "acme", { name: "box", addresses: ["127.0.0.1"] });
  const beat = () =>
    heartbeat(ctx, { project: "acme", workerId: worker.id }, { host: { hostname: "box", advertise_host: "127.0.0.1", gpus: [] }, replicas: [] });
  await beat();
  await ensureWorkload(ctx, admin, "acme", { name: "w", slug: "w", model: "m/a", backend: "vllm", execution_policy_config: { replicas: 1 } });
  const gates: (() => void)[] = [];
  let placements = 0;
  const slowCompute: Compute = {
    async placeCloudReplica() {
      placements++;
      await new Promise<void>((release) => gates.push(release));
      return { workerId: worker.id, hourlyPriceUsd: 0 };
    },
  };
  const fastCompute: Compute = { placeCloudReplica: async () => ({ workerId: worker.id, hourlyPriceUsd: 0 }) };
  const settle = () => new Promise((resolve) => setTimeout(resolve, 10));
  const advance = async (ms: number) => {
    clock += ms;
    await beat(); // the worker stays online meanwhile
  };
  return { ctx, worker, slowCompute, fastCompute, gates, placements: () => placements, settle, advance };
}

describe("controller lease", () => {
  it("two overlapping reconciles with the same controller id: the second skips the workload", async () => {
    // Prepare
    const t = await prepare();
    const first = reconcileWorkload(t.ctx, t.slowCompute, "acme", "w", { controllerId: "ctl-same" });
    await t.settle();

    // Act: 50 ms later, the same controller id reconciles the same workload again.
    const second = await reconcileWorkload(t.ctx, t.slowCompute, "acme", "w", { controllerId: "ctl-same" });
    for (const release of t.gates) release();
    await first;

    // Assess
    expect(second?.skipped).toBe(true);
    expect(t.placements()).toBe(1);
    expect((await listWorkerReplicas(t.ctx, t.worker.id)).map((r) => r.record.slot)).toEqual([0]);
  });

  it("a reconcile whose lease lapsed and was taken over writes nothing more", async () => {
    // Prepare: the first reconcile stalls in placement past its 30 s lease.
    const t = await prepare();
    const stalled = reconcileWorkload(t.ctx, t.slowCompute, "acme", "w", { controllerId: "ctl-a", leaseSeconds: 30 });
    await t.settle();
    await t.advance(31_000);

    // Act: another controller takes the lease and places the replica; then the stalled one resumes.
    const takeover = await reconcileWorkload(t.ctx, t.fastCompute, "acme", "w", { controllerId: "ctl-b" });
    const before = await t.ctx.store.query({ pk: "REP#acme#w" });
    for (const release of t.gates) release();
    const resumed = await stalled.then(
      () => "finished",
      (error: unknown) => error,
    );

    // Assess: the takeover created the replica; the stalled reconcile's writes were refused by the fence.
    expect(takeover?.skipped).toBeUndefined();
    expect(before.items).toHaveLength(1);
    expect(await t.ctx.store.query({ pk: "REP#acme#w" })).toEqual(before);
    expect(resumed).toBeInstanceOf(FenceLostError);
  });
});

describe("fencedStore", () => {
  it("applies writes while the fence holds, and none once it moved", async () => {
    // Prepare
    const store = new MemoryStore(() => 0);
    const lease = await store.put({ pk: "L", sk: "l", data: {} }, { kind: "absent" });
    const fenced = fencedStore(store, { pk: "L", sk: "l", version: lease.version });

    // Act
    const written = await fenced.put({ pk: "a", sk: "1", data: { n: 1 } }, { kind: "any" });
    const rewritten = await fenced.put({ pk: "a", sk: "1", data: { n: 2 } }, { kind: "any" });
    await store.put({ pk: "L", sk: "l", data: { taken: true } }, { kind: "version", version: lease.version });
    const late = fenced.put({ pk: "a", sk: "1", data: { n: 3 } }, { kind: "any" });
    const lateDelete = fenced.delete("a", "1");

    // Assess
    expect([written.version, rewritten.version]).toEqual([1, 2]);
    await expect(late).rejects.toBeInstanceOf(FenceLostError);
    await expect(lateDelete).rejects.toBeInstanceOf(FenceLostError);
    expect((await store.get("a", "1"))?.data).toEqual({ n: 2 });
  });
});
