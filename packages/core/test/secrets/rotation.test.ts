import { describe, expect, it } from "vitest";
import {
  authenticateSdkToken,
  bootstrapAdminToken,
  candidateSecretDigests,
  createKey,
  DEFAULT_KEY_CACHE,
  digestSecret,
  ensureWorkload,
  KeyAuthenticator,
  MemoryStore,
  type PlatformContext,
  parseServerSecretKeyring,
  versionedSecretDigest,
} from "../../src";

const OLD = "a".repeat(32);
const NEW = "b".repeat(32);

describe("server secret keyring", () => {
  it("reads one secret as version 1, and version:secret entries current first", () => {
    expect(parseServerSecretKeyring(` ${OLD}\n`)).toEqual({ current: { version: "1", secret: OLD }, previous: [] });
    expect(parseServerSecretKeyring(`2:${NEW},1:${OLD}`)).toEqual({ current: { version: "2", secret: NEW }, previous: [{ version: "1", secret: OLD }] });
  });

  it.each([
    ["short", "the server secret must be at least 16 characters"],
    [`2:${NEW},2:${OLD}`, "server secret version 2 appears twice"],
    [`2:short,1:${OLD}`, "server secret version 2: the secret must be at least 16 characters"],
    [`v 2:${NEW}`, "server secret entry 1: expected version:secret"],
  ])("refuses %j naming the problem, never the secret", (text, message) => {
    expect(() => parseServerSecretKeyring(text)).toThrow(message);
    try {
      parseServerSecretKeyring(text);
    } catch (error) {
      expect((error as Error).message).not.toContain(OLD);
      expect((error as Error).message).not.toContain(NEW);
    }
  });

  it("records the version in the digest; version 1 keeps the plain HMAC stores already hold", () => {
    expect(versionedSecretDigest({ version: "1", secret: OLD }, "ik_sdk_x")).toBe(digestSecret(OLD, "ik_sdk_x"));
    expect(versionedSecretDigest({ version: "2", secret: NEW }, "ik_sdk_x")).toBe(`v2.${digestSecret(NEW, "ik_sdk_x")}`);
    expect(candidateSecretDigests(parseServerSecretKeyring(`2:${NEW},1:${OLD}`), "ik_sdk_x")).toEqual([
      `v2.${digestSecret(NEW, "ik_sdk_x")}`,
      digestSecret(OLD, "ik_sdk_x"),
    ]);
  });
});

describe("rotating the server secret", () => {
  function contexts(store: MemoryStore): Record<"before" | "during" | "after", PlatformContext> {
    const now = () => new Date("2026-11-27T10:00:00Z");
    const at = (text: string) => {
      const keyring = parseServerSecretKeyring(text);
      return { store, serverSecret: keyring.current.secret, serverSecretKeyring: keyring, now };
    };
    return { before: at(OLD), during: at(`2:${NEW},1:${OLD}`), after: at(`2:${NEW}`) };
  }

  it("tokens and data keys digested under the old version verify until it is rotated out; new ones use the new version", async () => {
    const store = new MemoryStore(() => Date.parse("2026-11-27T10:00:00Z"));
    const ctx = contexts(store);
    const oldAdmin = (await bootstrapAdminToken(ctx.before))?.secret as string;
    const admin = await authenticateSdkToken(ctx.before, `Bearer ${oldAdmin}`);
    await ensureWorkload(ctx.before, admin, "acme", { name: "Bot", slug: "bot", model: "m/m", backend: "vllm" });
    const oldKey = (await createKey(ctx.before, admin, "acme", "bot", { name: "old" })).secret;
    const newKey = (await createKey(ctx.during, admin, "acme", "bot", { name: "new" })).secret;

    // During the rotation both versions verify, each through its own digest.
    await expect(authenticateSdkToken(ctx.during, `Bearer ${oldAdmin}`)).resolves.toMatchObject({ admin: true });
    await expect(new KeyAuthenticator(ctx.during, DEFAULT_KEY_CACHE).authenticate(`Bearer ${oldKey}`, "acme", "bot")).resolves.toMatchObject({
      storedDigest: digestSecret(OLD, oldKey),
    });
    await expect(new KeyAuthenticator(ctx.during, DEFAULT_KEY_CACHE).authenticate(`Bearer ${newKey}`, "acme", "bot")).resolves.toMatchObject({
      storedDigest: `v2.${digestSecret(NEW, newKey)}`,
    });
    // Version 1 rotated out: what it digested no longer verifies; what version 2 digested does.
    await expect(authenticateSdkToken(ctx.after, `Bearer ${oldAdmin}`)).rejects.toThrow("not recognised");
    await expect(Promise.resolve(new KeyAuthenticator(ctx.after, DEFAULT_KEY_CACHE).authenticate(`Bearer ${oldKey}`, "acme", "bot"))).rejects.toThrow(
      "not recognised",
    );
    await expect(Promise.resolve(new KeyAuthenticator(ctx.after, DEFAULT_KEY_CACHE).authenticate(`Bearer ${newKey}`, "acme", "bot"))).resolves.toBeDefined();
  });
});
