import { describe, expect, it } from "vitest";
import {
  authenticateSdkToken,
  bootstrapAdminToken,
  type Compute,
  createGateway,
  createKey,
  createProject,
  deleteWorkload,
  ensureWorkload,
  heartbeat,
  KeyInputSchema,
  keys,
  listKeys,
  listWorkloadReplicas,
  MemoryStore,
  type PlatformContext,
  reconcileWorkload,
  registerWorker,
  replicaSecret,
} from "../../src";

/**
 * A workload deleted and re-created under the same slug is a new life (incarnation): the former
 * life's keys answer 401, its replica ids and secrets never come back, and generations go on.
 */
async function prepare() {
  let clock = Date.parse("2030-01-02T03:04:05Z");
  const ctx: PlatformContext = { store: new MemoryStore(() => clock), serverSecret: "s", now: () => new Date(clock) };
  const admin = await authenticateSdkToken(ctx, `Bearer ${(await bootstrapAdminToken(ctx))?.secret}`);
  await createProject(ctx, admin, { slug: "acme" });
  const { worker } = await registerWorker(ctx, admin, "acme", { name: "box", addresses: ["127.0.0.1"] });
  const compute: Compute = { placeCloudReplica: async () => ({ workerId: worker.id, hourlyPriceUsd: 0 }) };
  const tick = async () => {
    clock += 1000;
    await heartbeat(ctx, { project: "acme", workerId: worker.id }, { host: { hostname: "box", advertise_host: "127.0.0.1", gpus: [] }, replicas: [] });
    await reconcileWorkload(ctx, compute, "acme", "bot", { controllerId: "test" });
  };
  const spec = { name: "Bot", slug: "bot", model: "m/a", backend: "vllm", execution_policy_config: { replicas: 1 } };
  const replicaIds = async () => (await listWorkloadReplicas(ctx, "acme", "bot")).map((r) => r.record.id);
  /** What the controller does once the agent reported the replicas stopped: replicas, then the record go. */
  const removeAll = async () => {
    for (const { item } of await listWorkloadReplicas(ctx, "acme", "bot")) await ctx.store.delete(item.pk, item.sk);
    await tick();
  };
  return { ctx, admin, tick, spec, replicaIds, removeAll };
}

describe("workload incarnations", () => {
  it("a re-created slug gets new replica ids and secrets, and generations continue after the record is gone", async () => {
    // Prepare: a first life with a replica, deleted, its record removed by the controller.
    const t = await prepare();
    const first = await ensureWorkload(t.ctx, t.admin, "acme", t.spec);
    await ensureWorkload(t.ctx, t.admin, "acme", { ...t.spec, name: "Bot 2" });
    await t.tick();
    const [oldId] = await t.replicaIds();
    await deleteWorkload(t.ctx, t.admin, "acme", "bot");
    await t.removeAll();
    expect(await t.ctx.store.get(keys.workload("acme", "bot").pk, keys.workload("acme", "bot").sk)).toBeUndefined();

    // Act: the slug comes back with the very same spec.
    const second = await ensureWorkload(t.ctx, t.admin, "acme", t.spec);
    await t.tick();
    const [newId] = await t.replicaIds();

    // Assess
    expect(first.generation).toBe(1);
    expect(second.generation).toBe(3);
    expect(second.created).toBe(true);
    expect(oldId).toBeDefined();
    expect(newId).toBeDefined();
    expect(newId).not.toBe(oldId);
    expect(replicaSecret("s", newId as string)).not.toBe(replicaSecret("s", oldId as string));
  });

  it("keys of the former life answer 401 key_revoked and are not listed; keys of the new life work", async () => {
    // Prepare
    const t = await prepare();
    await ensureWorkload(t.ctx, t.admin, "acme", t.spec);
    const oldKey = await createKey(t.ctx, t.admin, "acme", "bot", KeyInputSchema.parse({ name: "old" }));
    await deleteWorkload(t.ctx, t.admin, "acme", "bot");
    await t.removeAll();
    await ensureWorkload(t.ctx, t.admin, "acme", t.spec);
    const newKey = await createKey(t.ctx, t.admin, "acme", "bot", KeyInputSchema.parse({ name: "new" }));
    const gateway = createGateway(t.ctx, { usageFlushMs: 0, log: () => undefined });
    const call = async (secret: string) => {
      const response = await gateway.handle(
        new Request("http://gw/endpoint/acme/bot/v1/chat/completions", {
          method: "POST",
          headers: { authorization: `Bearer ${secret}`, "content-type": "application/json", "x-scale-up-timeout": "0" },
          body: JSON.stringify({ model: "m/a", messages: [{ role: "user", content: "hi" }] }),
        }),
      );
      return { status: response.status, code: ((await response.json()) as { error?: { code?: string } }).error?.code };
    };

    // Act
    const old = await call(oldKey.secret);
    const fresh = await call(newKey.secret);
    const listed = await listKeys(t.ctx, t.admin, "acme", "bot");
    await gateway.close();

    // Assess: the new key passes authentication (no replica is ready yet, so it is told to wait).
    expect(old).toEqual({ status: 401, code: "key_revoked" });
    expect(fresh.status).toBe(503);
    expect(listed.map((k) => k.name)).toEqual(["new"]);
  });

  it("a key made before incarnations belongs to the life current when it was made", async () => {
    // Prepare: a key record as older code wrote it (no incarnation field).
    const t = await prepare();
    await ensureWorkload(t.ctx, t.admin, "acme", t.spec);
    const legacy = await createKey(t.ctx, t.admin, "acme", "bot", KeyInputSchema.parse({ name: "legacy" }));
    const page = await t.ctx.store.query({ pk: keys.keysIndex("acme", "bot"), index: "gsi1" });
    for (const item of page.items) {
      const { incarnation: _dropped, ...data } = item.data;
      await t.ctx.store.put({ pk: item.pk, sk: item.sk, gsi1pk: item.gsi1pk, gsi1sk: item.gsi1sk, data }, { kind: "version", version: item.version });
    }

    // Act
    const before = await listKeys(t.ctx, t.admin, "acme", "bot");
    await deleteWorkload(t.ctx, t.admin, "acme", "bot");
    await t.removeAll();
    await t.tick();
    await ensureWorkload(t.ctx, t.admin, "acme", t.spec);
    const after = await listKeys(t.ctx, t.admin, "acme", "bot");

    // Assess
    expect(before.map((k) => k.id)).toEqual([legacy.key.id]);
    expect(after).toEqual([]);
  });
});
