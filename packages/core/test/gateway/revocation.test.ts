import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_KEY_CACHE } from "../../src/gateway";
import { revokeKey } from "../../src/keys";
import { bearer, FakeClock, type ReplicaProcess, type ServedGateway, serveGateway, GATEWAY_BINDINGS, startReplica, stopAllReplicas, TestPlatform } from "./support";

const ADMIN = { tokenId: "tok_testadmin", admin: true };

describe.each(GATEWAY_BINDINGS)("gateway: key revocation and expiry under a fake clock ($binding binding)", ({ binding }) => {
  const clock = new FakeClock();
  const platform = new TestPlatform(clock.now);
  let replica: ReplicaProcess;
  let served: ServedGateway;

  beforeAll(async () => {
    await platform.workload("acme", { slug: "chat" });
    replica = await startReplica({ id: platform.replicaIdFor("acme", "chat"), serverSecret: platform.ctx.serverSecret });
    await platform.replica("acme", "chat", { port: replica.port });
    served = await serveGateway(platform, {}, binding);
  });

  afterAll(async () => {
    await served?.close();
    await stopAllReplicas();
  });

  const call = async (secret: string) => {
    const response = await fetch(`${served.url}/endpoint/acme/chat/v1/chat/completions`, {
      method: "POST",
      headers: { ...bearer(secret), "content-type": "application/json" },
      body: JSON.stringify({ model: "test-model", messages: [{ role: "user", content: "hi" }] }),
    });
    const body = (await response.json()) as { error?: { code: string } };
    return { status: response.status, code: body.error?.code };
  };

  it("the revocation delay is the key cache TTL: 5 s", () => {
    expect(DEFAULT_KEY_CACHE.ttlMs).toBe(5000);
  });

  it("a revoked key keeps working at most 5 s, then answers 401 key_revoked", async () => {
    // Prepare
    const key = await platform.key("acme", "chat");
    expect(await call(key.secret)).toEqual({ status: 200, code: undefined });

    // Act
    await revokeKey(platform.ctx, ADMIN, "acme", "chat", key.id);
    const justAfter = await call(key.secret);
    clock.advance(4900);
    const within = await call(key.secret);
    clock.advance(101);
    const past = await call(key.secret);

    // Assess
    expect(justAfter.status).toBe(200);
    expect(within.status).toBe(200);
    expect(past).toEqual({ status: 401, code: "key_revoked" });
  });

  it("an expiring key stops at its expiry instant, with no cache delay", async () => {
    // Prepare
    const key = await platform.key("acme", "chat", { expires_at: new Date(clock.now().getTime() + 60_000).toISOString() });
    expect((await call(key.secret)).status).toBe(200);

    // Act
    clock.advance(59_999);
    const before = await call(key.secret);
    clock.advance(1);
    const at = await call(key.secret);

    // Assess
    expect(before.status).toBe(200);
    expect(at).toEqual({ status: 401, code: "key_expired" });
  });

  it("a key created after its secret was tried works once the 1 s negative cache lapses", async () => {
    // Prepare: a key nobody knows yet is tried, then created under that exact secret.
    const { generateSecret, digestSecret } = await import("../../src/secrets");
    const { keys } = await import("../../src/platform/context");
    const secret = generateSecret("live");
    const template = await platform.key("acme", "chat");
    const first = await call(secret);
    const stored = await platform.ctx.store.get(
      keys.secret(digestSecret(platform.ctx.serverSecret, template.secret)).pk,
      "SECRET",
    );
    await platform.ctx.store.put(
      { ...keys.secret(digestSecret(platform.ctx.serverSecret, secret)), data: { ...stored?.data, id: "key_late" } },
      { kind: "absent" },
    );

    // Act
    const cached = await call(secret);
    clock.advance(1000);
    const later = await call(secret);

    // Assess
    expect(first.code).toBe("invalid_api_key");
    expect(cached.code).toBe("invalid_api_key");
    expect(later.status).toBe(200);
  });

  it("steady state: no store read per request; the route refreshes once its 2 s TTL lapses", async () => {
    // Prepare
    const key = await platform.key("acme", "chat");
    await call(key.secret);
    const store = platform.ctx.store;
    const get = store.get.bind(store);
    const query = store.query.bind(store);
    let reads = 0;
    store.get = (pk, sk) => {
      reads++;
      return get(pk, sk);
    };
    store.query = (input) => {
      reads++;
      return query(input);
    };

    // Act
    for (let i = 0; i < 50; i++) await call(key.secret);
    const steady = reads;
    clock.advance(2000);
    await call(key.secret);
    const afterRouteTtl = reads;
    store.get = get;
    store.query = query;

    // Assess
    expect(steady).toBe(0);
    // One workload read and one replica query.
    expect(afterRouteTtl).toBe(2);
    expect(served.gateway.gatewayRequestRate(await platform.incarnation("acme", "chat"))).toBeGreaterThanOrEqual(51);
  });
});
