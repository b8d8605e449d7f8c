import { describe, expect, it } from "vitest";
import { MemoryStore, MIGRATIONS, migrateStore, type PlatformContext, workloadIncarnation, type WorkloadRecord } from "../../src";

/** Items as code before incarnations wrote them (no `incarnation` anywhere). */
async function legacyStore(): Promise<PlatformContext> {
  const ctx: PlatformContext = { store: new MemoryStore(() => 0), serverSecret: "s", now: () => new Date("2031-01-01T00:00:00Z") };
  const put = (pk: string, sk: string, data: Record<string, unknown>, gsi?: [string, string]) =>
    ctx.store.put({ pk, sk, ...(gsi ? { gsi1pk: gsi[0], gsi1sk: gsi[1] } : {}), data }, { kind: "absent" });
  await put("ORG", "PRJ#acme", { slug: "acme", name: "acme", created_at: "2030-01-01T00:00:00.000Z" });
  // The slug was deleted and re-created on 2030-06-01: this record is its second life.
  await put("PRJ#acme", "WL#bot", { id: "wl_1", project: "acme", slug: "bot", spec: {}, generation: 3, runtime_generation: 3, created_at: "2030-06-01T00:00:00.000Z", updated_at: "2030-06-01T00:00:00.000Z" });
  await put("SECRET#a", "SECRET", { kind: "live", id: "key_old", name: "old", project: "acme", workload: "bot", created_at: "2030-02-01T00:00:00.000Z" }, ["KEYS#acme#bot", "key_old"]);
  await put("SECRET#b", "SECRET", { kind: "live", id: "key_new", name: "new", project: "acme", workload: "bot", created_at: "2030-07-01T00:00:00.000Z" }, ["KEYS#acme#bot", "key_new"]);
  await put("REP#acme#bot", "0000#00000003", { id: "rep_1", project: "acme", workload: "bot", slot: 0, generation: 3 });
  return ctx;
}

describe("migration 2: incarnations", () => {
  it("stores the workload's incarnation, binds its current keys and replicas, and revokes a former life's keys", async () => {
    // Prepare
    const ctx = await legacyStore();
    const expected = workloadIncarnation((await ctx.store.get("PRJ#acme", "WL#bot"))?.data as unknown as WorkloadRecord);

    // Act
    const report = await migrateStore(ctx, MIGRATIONS);
    const again = await migrateStore(ctx, MIGRATIONS);

    // Assess
    expect(report.applied.map((line) => line.split(":")[0])).toEqual(["1", "2"]);
    expect(again.applied).toEqual([]);
    expect((await ctx.store.get("PRJ#acme", "WL#bot"))?.data.incarnation).toBe(expected);
    expect((await ctx.store.get("SECRET#b", "SECRET"))?.data).toMatchObject({ incarnation: expected });
    expect((await ctx.store.get("SECRET#b", "SECRET"))?.data.revoked_at).toBeUndefined();
    expect((await ctx.store.get("SECRET#a", "SECRET"))?.data).toMatchObject({ revoked_at: "2031-01-01T00:00:00.000Z" });
    expect((await ctx.store.get("REP#acme#bot", "0000#00000003"))?.data.incarnation).toBe(expected);
  });
});
