import { describe, expect, it } from "vitest";
import {
  authenticateSdkToken,
  bootstrapAdminToken,
  type Compute,
  createProject,
  createReplicaOnFreePort,
  ensureWorkload,
  FenceLostError,
  fencedStore,
  heartbeat,
  listWorkloadReplicas,
  MemoryStore,
  type PlatformContext,
  queryAll,
  reconcileAll,
  type ReplicaRecord,
  registerWorker,
  replicaKeys,
  type Store,
} from "../../src";
import { LatencyStore } from "../../../../test/support/latency-store";

const record = (port: number, id = "rep_a"): ReplicaRecord =>
  ({
    id,
    project: "acme",
    workload: "bot",
    slot: 0,
    generation: 1,
    worker_id: "wrk_1",
    host: "127.0.0.1",
    port,
    desired: "running",
    phase: "pending",
    restarts: 0,
    backend: "vllm",
    task_type: "text2text",
    model: "m",
    command: "c",
    gpu_indexes: [],
    hourly_price_usd: 0,
    created_at: "2030-01-01T00:00:00.000Z",
    updated_at: "2030-01-01T00:00:00.000Z",
  }) as ReplicaRecord;

const claimedPorts = async (store: Store, machine = "wrk_1") =>
  (await queryAll(store, { pk: replicaKeys.port(machine, 0).pk })).map((item) => ({ port: Number(item.sk), replica: item.data.replica as string }));

describe("a port claim and the replica that uses it land in one transaction", () => {
  it("writes both in one transaction, on the first free port", async () => {
    // Prepare
    const store = new LatencyStore(new MemoryStore());
    const calls = store.calls;
    const ctx: PlatformContext = { store, serverSecret: "s", now: () => new Date() };

    // Act
    const first = await createReplicaOnFreePort(ctx, "wrk_1", (port) => record(port, "rep_a"), { kind: "absent" });

    // Assess
    expect(first?.port).toBe(20_000);
    expect(await claimedPorts(store)).toEqual([{ port: 20_000, replica: "rep_a" }]);
    expect(calls).toMatchObject({ transact: 1, put: 0 });
  });

  it("when another controller created the replica first, no port stays claimed", async () => {
    // Prepare
    const store = new MemoryStore();
    const ctx: PlatformContext = { store, serverSecret: "s", now: () => new Date() };
    await createReplicaOnFreePort(ctx, "wrk_1", (port) => record(port, "rep_a"), { kind: "absent" });

    // Act: a second controller decided the same replica (same item) on the same machine.
    const second = await createReplicaOnFreePort(ctx, "wrk_1", (port) => record(port, "rep_a"), { kind: "absent" });

    // Assess
    expect(second).toBeUndefined();
    expect(await claimedPorts(store)).toEqual([{ port: 20_000, replica: "rep_a" }]);
  });

  it("a port claimed by someone else between the listing and the transaction is skipped for the next", async () => {
    // Prepare: while the claim checks port 20000, another controller takes it.
    const store = new MemoryStore();
    const ctx: PlatformContext = { store, serverSecret: "s", now: () => new Date() };
    const racing = async (port: number) => {
      if (port === 20_000) await store.put({ ...replicaKeys.port("wrk_1", port), data: { replica: "rep_other" } }, { kind: "absent" });
      return true;
    };

    // Act
    const placed = await createReplicaOnFreePort(ctx, "wrk_1", (port) => record(port), { kind: "absent" }, racing);

    // Assess
    expect(placed?.port).toBe(20_001);
    expect(await claimedPorts(store)).toEqual([
      { port: 20_000, replica: "rep_other" },
      { port: 20_001, replica: "rep_a" },
    ]);
  });

  it("under a lost lease (fenced store) neither the port nor the replica is written", async () => {
    // Prepare
    const store = new MemoryStore();
    const lease = await store.put({ pk: "PRJ#acme", sk: "LEASE#bot", data: {} }, { kind: "absent" });
    const fence = { pk: lease.pk, sk: lease.sk, version: lease.version };
    await store.put({ pk: lease.pk, sk: lease.sk, data: { taken: true } }, { kind: "version", version: lease.version });
    const ctx: PlatformContext = { store: fencedStore(store, fence), serverSecret: "s", now: () => new Date() };

    // Act
    const attempt = createReplicaOnFreePort(ctx, "wrk_1", (port) => record(port), { kind: "absent" });

    // Assess
    await expect(attempt).rejects.toBeInstanceOf(FenceLostError);
    expect(await claimedPorts(store)).toEqual([]);
    expect(await store.get(replicaKeys.workload("acme", "bot"), replicaKeys.sort(0, 1))).toBeUndefined();
  });

  it("the controller places replicas through it: every replica's port is claimed for that replica, no claim is orphaned", async () => {
    // Prepare
    const store = new MemoryStore();
    const ctx: PlatformContext = { store, serverSecret: "s", now: () => new Date() };
    const admin = await authenticateSdkToken(ctx, `Bearer ${(await bootstrapAdminToken(ctx))?.secret}`);
    await createProject(ctx, admin, { slug: "acme" });
    const { worker } = await registerWorker(ctx, admin, "acme", { name: "box", addresses: ["127.0.0.1"] });
    await heartbeat(ctx, { project: "acme", workerId: worker.id }, { host: { hostname: "box", advertise_host: "127.0.0.1", gpus: [] }, replicas: [] });
    const compute: Compute = { placeCloudReplica: async () => ({ workerId: worker.id, hourlyPriceUsd: 0 }) };
    for (const slug of ["a", "b", "c"]) await ensureWorkload(ctx, admin, "acme", { name: slug, slug, model: "m/m", backend: "vllm" });

    // Act: two controllers tick at once.
    await Promise.all([reconcileAll(ctx, compute, { controllerId: "one" }), reconcileAll(ctx, compute, { controllerId: "two" })]);

    // Assess
    const replicas = (await Promise.all(["a", "b", "c"].map((slug) => listWorkloadReplicas(ctx, "acme", slug)))).flat().map((r) => r.record);
    const claims = await claimedPorts(store, replicas[0]?.port_machine ?? worker.id);
    expect(replicas).toHaveLength(3);
    expect(claims.map((c) => c.replica).sort()).toEqual(replicas.map((r) => r.id).sort());
    expect(claims.map((c) => c.port).sort()).toEqual(replicas.map((r) => r.port).sort());
  });
});
