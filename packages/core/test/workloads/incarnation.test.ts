import { describe, expect, it } from "vitest";
import {
  authenticateSdkToken,
  bootstrapAdminToken,
  deleteWorkload,
  ensureWorkload,
  getWorkloadRecord,
  keys,
  MemoryStore,
  type PlatformContext,
  type Principal,
  type WorkloadRecord,
  workloadIncarnation,
} from "../../src";

const spec = { name: "Support bot", slug: "support-bot", model: "meta-llama/Llama-3.1-8B-Instruct", backend: "vllm" };

async function setup(): Promise<{ ctx: PlatformContext; admin: Principal; at: (iso: string) => void }> {
  let now = new Date("2026-11-27T10:00:00Z");
  const ctx: PlatformContext = { store: new MemoryStore(() => now.getTime()), serverSecret: "test-secret", now: () => now };
  const created = await bootstrapAdminToken(ctx);
  const admin = await authenticateSdkToken(ctx, `Bearer ${created?.secret}`);
  return { ctx, admin, at: (iso) => (now = new Date(iso)) };
}

describe("workload incarnations", () => {
  it("a workload gets an incarnation when created, keeps it through changes, and a new one when re-created", async () => {
    // Prepare
    const { ctx, admin } = await setup();

    // Act
    await ensureWorkload(ctx, admin, "acme", spec);
    const created = await getWorkloadRecord(ctx, admin, "acme", "support-bot");
    await ensureWorkload(ctx, admin, "acme", { ...spec, name: "Renamed" });
    const changed = await getWorkloadRecord(ctx, admin, "acme", "support-bot");
    await deleteWorkload(ctx, admin, "acme", "support-bot");
    await ensureWorkload(ctx, admin, "acme", spec);
    const recreated = await getWorkloadRecord(ctx, admin, "acme", "support-bot");

    // Assess
    expect(created.incarnation).toMatch(/^inc_[0-9A-Za-z]{16}$/);
    expect(changed.incarnation).toBe(created.incarnation);
    expect(recreated.incarnation).toMatch(/^inc_[0-9A-Za-z]{16}$/);
    expect(recreated.incarnation).not.toBe(created.incarnation);
    // The tombstone kept the id and the generations going; only the incarnation tells the lives apart.
    expect(recreated.id).toBe(created.id);
    expect(recreated.generation).toBeGreaterThan(changed.generation);
  });

  it("a record stored before incarnations gets a stable derived one, stored by its next write", async () => {
    // Prepare: a record as today's main writes it (no incarnation).
    const { ctx, admin, at } = await setup();
    await ensureWorkload(ctx, admin, "acme", spec);
    const key = keys.workload("acme", "support-bot");
    const item = await ctx.store.get(key.pk, key.sk);
    if (item === undefined) throw new Error("the workload was not stored");
    const { incarnation: _dropped, ...legacy } = item.data as unknown as WorkloadRecord;
    await ctx.store.put({ ...key, data: { ...legacy } }, { kind: "any" });

    // Act
    const derived = workloadIncarnation(await getWorkloadRecord(ctx, admin, "acme", "support-bot"));
    const again = workloadIncarnation(await getWorkloadRecord(ctx, admin, "acme", "support-bot"));
    await ensureWorkload(ctx, admin, "acme", { ...spec, name: "Renamed" });
    const stored = await getWorkloadRecord(ctx, admin, "acme", "support-bot");
    at("2026-11-27T11:00:00Z");
    const otherLife = workloadIncarnation({ ...legacy, created_at: "2026-11-27T11:00:00.000Z" });

    // Assess
    expect(derived).toMatch(/^inc_[0-9A-Za-z]{16}$/);
    expect(again).toBe(derived);
    expect(stored.incarnation).toBe(derived);
    expect(otherLife).not.toBe(derived);
  });
});
