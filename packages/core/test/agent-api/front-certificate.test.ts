import { describe, expect, it } from "vitest";
import {
  authenticateSdkToken,
  bootstrapAdminToken,
  type Compute,
  createProject,
  ensureWorkload,
  heartbeat,
  HeartbeatRequestSchema,
  listWorkerReplicas,
  MemoryStore,
  type PlatformContext,
  reconcileAll,
  registerWorker,
  DEFAULT_ROUTE_CACHE,
  RouteTable,
} from "../../src";

const SHA_A = "a".repeat(64);
const SHA_B = "b".repeat(64);

async function setup() {
  const clock = Date.parse("2026-11-27T10:00:00Z");
  const ctx: PlatformContext = { store: new MemoryStore(() => clock), serverSecret: "s", now: () => new Date(clock) };
  const admin = await authenticateSdkToken(ctx, `Bearer ${(await bootstrapAdminToken(ctx))?.secret}`);
  await createProject(ctx, admin, { slug: "acme" });
  const { worker } = await registerWorker(ctx, admin, "acme", { name: "box", addresses: ["127.0.0.1"] });
  const compute: Compute = { placeCloudReplica: async () => ({ workerId: worker.id, hourlyPriceUsd: 0 }) };
  await ensureWorkload(ctx, admin, "acme", { name: "chat", slug: "chat", model: "m/a", backend: "vllm" });
  await heartbeat(ctx, { project: "acme", workerId: worker.id }, { host: { hostname: "box", advertise_host: "127.0.0.1", gpus: [] }, replicas: [] });
  await reconcileAll(ctx, compute, { controllerId: "one" });
  const report = async (sha256: string | undefined) => {
    const placed = (await listWorkerReplicas(ctx, worker.id)).map((r) => r.record);
    await heartbeat(ctx, { project: "acme", workerId: worker.id }, {
      host: { hostname: "box", advertise_host: "127.0.0.1", gpus: [], ...(sha256 === undefined ? {} : { front_certificate_sha256: sha256 }) },
      replicas: placed.map((r) => ({ replica_id: r.id, port: r.port, restarts: 0, state: "ready" as const })),
    });
  };
  return { ctx, report };
}

describe("the worker's front certificate, from heartbeat to gateway", () => {
  it("the fingerprint a heartbeat reports is what the gateway's route pins for that worker's replicas, and follows a change", async () => {
    // Prepare
    const { ctx, report } = await setup();

    // Act
    await report(SHA_A);
    const pinned = (await new RouteTable(ctx, DEFAULT_ROUTE_CACHE).refresh("acme", "chat")).ready;
    await report(SHA_B);
    const changed = (await new RouteTable(ctx, DEFAULT_ROUTE_CACHE).refresh("acme", "chat")).ready;
    await report(undefined);
    const plain = (await new RouteTable(ctx, DEFAULT_ROUTE_CACHE).refresh("acme", "chat")).ready;

    // Assess
    expect(pinned.map((r) => r.certificateSha256)).toEqual([SHA_A]);
    expect(changed.map((r) => r.certificateSha256)).toEqual([SHA_B]);
    expect(plain.map((r) => r.certificateSha256)).toEqual([undefined]);
  });

  it("accepts only a SHA-256 in lowercase hex as the fingerprint", () => {
    const host = (front_certificate_sha256: string) => ({ host: { hostname: "b", advertise_host: "h", gpus: [], front_certificate_sha256 }, replicas: [] });
    expect(HeartbeatRequestSchema.safeParse(host(SHA_A)).success).toBe(true);
    expect(HeartbeatRequestSchema.safeParse(host("A".repeat(64))).success).toBe(false);
    expect(HeartbeatRequestSchema.safeParse(host("a".repeat(63))).success).toBe(false);
    expect(HeartbeatRequestSchema.safeParse(host(`${"a".repeat(62)}:a`)).success).toBe(false);
  });
});
