import { describe, expect, it } from "vitest";
import { authenticateSdkToken, bootstrapAdminToken, deleteWorkload, ensureWorkload, listWorkloads, MemoryStore, type PlatformContext } from "../../src";

describe("listWorkloads", () => {
  it("pages through every live workload once, skipping deleted ones", async () => {
    // Prepare
    const ctx: PlatformContext = { store: new MemoryStore(), serverSecret: "s", now: () => new Date() };
    const admin = await authenticateSdkToken(ctx, `Bearer ${(await bootstrapAdminToken(ctx))?.secret}`);
    for (let i = 0; i < 7; i++) {
      await ensureWorkload(ctx, admin, "acme", { name: `w${i}`, slug: `w${i}`, model: "m/m", backend: "vllm" });
    }
    await deleteWorkload(ctx, admin, "acme", "w3");

    // Act
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await listWorkloads(ctx, admin, "acme", { limit: 2, ...(cursor ? { cursor } : {}) });
      seen.push(...page.data.map((w) => w.slug));
      cursor = page.next_cursor;
    } while (cursor !== undefined);

    // Assess
    expect(seen).toEqual(["w0", "w1", "w2", "w4", "w5", "w6"]);
  });
});
