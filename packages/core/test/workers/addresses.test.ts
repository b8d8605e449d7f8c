import { describe, expect, it } from "vitest";
import {
  authenticateSdkToken,
  bootstrapAdminToken,
  type Compute,
  createProject,
  ensureWorkload,
  ForbiddenError,
  getWorkload,
  heartbeat,
  listWorkloadReplicas,
  MemoryStore,
  type PlatformContext,
  reconcileAll,
  registerWorker,
  storeWorker,
  vouchedDialHost,
  WorkerInputSchema,
} from "../../src";

async function world() {
  const ctx: PlatformContext = { store: new MemoryStore(() => Date.parse("2030-01-01T00:00:00Z")), serverSecret: "s", now: () => new Date("2030-01-01T00:00:00Z") };
  const admin = await authenticateSdkToken(ctx, `Bearer ${(await bootstrapAdminToken(ctx))?.secret}`);
  await createProject(ctx, admin, { slug: "acme" });
  return { ctx, admin };
}

/** A worker whose agent reports `advertise`, with one fixed workload placed on it. */
async function placeOn(ctx: PlatformContext, admin: Awaited<ReturnType<typeof world>>["admin"], worker: { id: string }, advertise: string) {
  await heartbeat(ctx, { project: "acme", workerId: worker.id }, { host: { hostname: "box", advertise_host: advertise, gpus: [] }, replicas: [] });
  const compute: Compute = { placeCloudReplica: async () => ({ workerId: worker.id, hourlyPriceUsd: 0 }) };
  await ensureWorkload(ctx, admin, "acme", { name: "Bot", slug: "bot", model: "org/model", backend: "vllm" });
  await reconcileAll(ctx, compute);
  return (await listWorkloadReplicas(ctx, "acme", "bot")).map((r) => r.record);
}

describe("issue 11.9: the gateway dials only addresses the platform vouches for", () => {
  it("a worker token advertising 127.0.0.2 gets no replica there; the reason is in the events", async () => {
    // Prepare
    const { ctx, admin } = await world();
    const { worker } = await registerWorker(ctx, admin, "acme", { name: "box" });

    // Act
    const replicas = await placeOn(ctx, admin, worker, "127.0.0.2");

    // Assess
    expect(replicas).toEqual([]);
    const events = (await getWorkload(ctx, admin, "acme", "bot")).status.events;
    expect(events.find((e) => e.type === "PlacementPending")?.message).toMatch(/127\.0\.0\.2.*loopback/);
  });

  it("a private worker registered with addresses is dialled within them and nowhere else", async () => {
    // Prepare
    const { ctx, admin } = await world();
    const { worker } = await registerWorker(ctx, admin, "acme", { name: "box", addresses: ["10.1.0.0/16"] });

    // Act + Assess
    expect(await placeOn(ctx, admin, worker, "10.2.0.5")).toEqual([]);
    await heartbeat(ctx, { project: "acme", workerId: worker.id }, { host: { hostname: "box", advertise_host: "10.1.4.5", gpus: [] }, replicas: [] });
    await reconcileAll(ctx, { placeCloudReplica: async () => ({ workerId: worker.id, hourlyPriceUsd: 0 }) });
    expect((await listWorkloadReplicas(ctx, "acme", "bot")).map((r) => r.record.host)).toEqual(["10.1.4.5"]);
  });

  it("a platform-run worker is dialled where the platform says, whatever its agent reports", async () => {
    // Prepare
    const { ctx, admin } = await world();
    const { worker } = await storeWorker(ctx, "acme", { name: "this machine" }, `ik_wrk_${"b".repeat(30)}`, undefined, { machine: "local", dialHost: "127.0.0.1" });

    // Act
    const replicas = await placeOn(ctx, admin, worker, "127.0.0.2");

    // Assess
    expect(replicas.map((r) => r.host)).toEqual(["127.0.0.1"]);
  });

  it("only organisation tokens may register addresses in loopback, link-local or other special ranges", async () => {
    // Prepare
    const { ctx, admin } = await world();
    const projectToken = { tokenId: "tok_p", project: "acme", admin: false };

    // Act + Assess
    for (const addresses of [["127.0.0.2"], ["0.0.0.0/0"], ["169.254.169.254"], ["::1"], ["::ffff:127.0.0.1"], ["fe80::1/64"]]) {
      await expect(registerWorker(ctx, projectToken, "acme", { name: "box", addresses })).rejects.toBeInstanceOf(ForbiddenError);
    }
    await expect(registerWorker(ctx, projectToken, "acme", { name: "box", addresses: ["10.0.0.0/8", "fd00::/64"] })).resolves.toBeDefined();
    await expect(registerWorker(ctx, admin, "acme", { name: "box", addresses: ["127.0.0.1"] })).resolves.toBeDefined();
  });

  it("addresses must be IP addresses or CIDR ranges", () => {
    for (const bad of ["example.com", "10.0.0.0/33", "10.0.0.1/", "::1/129", "1.2.3.4 ", ""]) {
      expect(WorkerInputSchema.safeParse({ name: "box", addresses: [bad] }).success, bad).toBe(false);
    }
    expect(WorkerInputSchema.safeParse({ name: "box", addresses: ["10.0.0.7", "10.0.0.0/24", "fd00::/64"] }).success).toBe(true);
  });

  it("without addresses: ordinary unicast IPs only, never names or special ranges", () => {
    const at = (advertise_host: string) => vouchedDialHost({ id: "wrk_x", host: { advertise_host } });
    expect(at("10.0.0.7")).toEqual({ host: "10.0.0.7" });
    expect(at("203.0.113.9")).toEqual({ host: "203.0.113.9" });
    for (const refused of ["127.0.0.1", "127.0.0.2", "169.254.169.254", "0.0.0.0", "::1", "[::1]", "::ffff:127.0.0.1", "fe80::1", "224.0.0.1", "gpu-box.internal"]) {
      expect("refused" in at(refused), refused).toBe(true);
    }
  });
});

