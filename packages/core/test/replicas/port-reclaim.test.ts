import { describe, expect, it } from "vitest";
import {
  authenticateSdkToken,
  bootstrapAdminToken,
  type Compute,
  createProject,
  ensureWorkload,
  getWorkload,
  heartbeat,
  listWorkloadReplicas,
  MemoryStore,
  type PlatformContext,
  reconcileAll,
  registerWorker,
  replicaKeys,
} from "../../src";

describe("issue 11.7: an agent that cannot bind its port gets another", () => {
  it("moves the replica to a new port, keeps the held one out of claims, answers the new port, and says so in events", async () => {
    // Prepare: one replica placed on a worker.
    let clock = Date.parse("2030-01-01T00:00:00Z");
    const ctx: PlatformContext = { store: new MemoryStore(() => clock), serverSecret: "s", now: () => new Date(clock) };
    const admin = await authenticateSdkToken(ctx, `Bearer ${(await bootstrapAdminToken(ctx))?.secret}`);
    await createProject(ctx, admin, { slug: "acme" });
    const { worker } = await registerWorker(ctx, admin, "acme", { name: "box", addresses: ["127.0.0.1"] });
    const principal = { project: "acme", workerId: worker.id };
    const host = { hostname: "box", advertise_host: "127.0.0.1", gpus: [] };
    await heartbeat(ctx, principal, { host, replicas: [] });
    const compute: Compute = { placeCloudReplica: async () => ({ workerId: worker.id, hourlyPriceUsd: 0 }) };
    await ensureWorkload(ctx, admin, "acme", { name: "Bot", slug: "bot", model: "org/model", backend: "vllm" });
    await reconcileAll(ctx, compute);
    const [placed] = (await listWorkloadReplicas(ctx, "acme", "bot")).map((r) => r.record);
    if (placed === undefined) throw new Error("no replica placed");

    // Act: the agent reports the port held by another program, twice (a repeated report moves it once).
    const report = { replica_id: placed.id, state: "starting" as const, port: placed.port, restarts: 0, port_unavailable: true };
    const answer = await heartbeat(ctx, principal, { host, replicas: [report] });
    await heartbeat(ctx, principal, { host, replicas: [report] });

    // Assess
    const [moved] = (await listWorkloadReplicas(ctx, "acme", "bot")).map((r) => r.record);
    expect(moved?.port).not.toBe(placed.port);
    expect(answer.assignments.find((a) => a.replica_id === placed.id)?.port).toBe(moved?.port);
    const held = replicaKeys.port(worker.id, placed.port);
    expect((await ctx.store.get(held.pk, held.sk))?.data).toEqual({ blocked_for: placed.id });
    const view = await getWorkload(ctx, admin, "acme", "bot");
    expect(view.status.events.filter((e) => e.type === "ReplicaPortReassigned")).toHaveLength(1);
    // The block lapses: after it, the port can be claimed again.
    clock += 601_000;
    expect(await ctx.store.get(held.pk, held.sk)).toBeUndefined();
  });
});
