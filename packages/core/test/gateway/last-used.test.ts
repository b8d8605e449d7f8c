import { describe, expect, it } from "vitest";
import {
  authenticateSdkToken,
  bootstrapAdminToken,
  createKey,
  DEFAULT_KEY_CACHE,
  ensureWorkload,
  KeyAuthenticator,
  listKeys,
  MemoryStore,
  type NewItem,
  type PlatformContext,
  type WriteCondition,
} from "../../src";

/** A store that counts writes, to show the hot path does not write per request. */
class CountingStore extends MemoryStore {
  puts = 0;
  override async put(item: NewItem, condition: WriteCondition) {
    this.puts++;
    return super.put(item, condition);
  }
}

describe("key last_used_at", () => {
  it("is recorded in the background at most once a minute per key", async () => {
    // Prepare
    let clock = Date.parse("2026-11-27T10:00:00Z");
    const store = new CountingStore(() => clock);
    const ctx: PlatformContext = { store, serverSecret: "s", now: () => new Date(clock) };
    const admin = await authenticateSdkToken(ctx, `Bearer ${(await bootstrapAdminToken(ctx))?.secret}`);
    await ensureWorkload(ctx, admin, "acme", { name: "Bot", slug: "bot", model: "m/m", backend: "vllm" });
    const { secret } = await createKey(ctx, admin, "acme", "bot", { name: "web" });
    const auth = new KeyAuthenticator(ctx, DEFAULT_KEY_CACHE);
    const settle = () => new Promise((r) => setTimeout(r, 10));

    // Act: 50 requests in the first minute, then one a minute later.
    const before = store.puts;
    for (let i = 0; i < 50; i++) await auth.authenticate(`Bearer ${secret}`, "acme", "bot");
    await settle();
    const firstMinute = store.puts - before;
    const seen = (await listKeys(ctx, admin, "acme", "bot"))[0]?.last_used_at;
    clock += 61_000;
    await auth.authenticate(`Bearer ${secret}`, "acme", "bot");
    await settle();

    // Assess
    expect(firstMinute).toBe(1);
    expect(seen).toBe("2026-11-27T10:00:00.000Z");
    expect((await listKeys(ctx, admin, "acme", "bot"))[0]?.last_used_at).toBe("2026-11-27T10:01:01.000Z");
  });
});
