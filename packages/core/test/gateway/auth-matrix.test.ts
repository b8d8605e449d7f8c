import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { keys as itemKeys } from "../../src/platform/context";
import { revokeKey } from "../../src/keys";
import { digestSecret } from "../../src/secrets";
import { FLEET, type Fleet, sampleRequest, type ServedGateway, serveGateway, GATEWAY_BINDINGS, startFleet, stopAllReplicas, TestPlatform } from "./support";

const ADMIN = { tokenId: "tok_testadmin", admin: true };

describe.each(GATEWAY_BINDINGS)("gateway: authentication before anything else ($binding binding)", ({ binding }) => {
  let fleet: Fleet;
  let served: ServedGateway;
  /** Per workload: case name -> Authorization header and the expected answer. */
  const cases = new Map<string, Map<string, { header: string | undefined; status: number; code: string }>>();

  beforeAll(async () => {
    const platform = new TestPlatform();
    fleet = await startFleet(platform);
    served = await serveGateway(platform, {}, binding);
    const { ctx } = platform;
    await platform.workload("acme", { slug: "other" });
    const otherWorkload = await platform.key("acme", "other");
    for (const w of FLEET) {
      // A workload of the same slug in another project.
      await platform.workload("globex", { slug: w.slug, task_type: w.task_type });
      const otherProject = await platform.key("globex", w.slug);
      const revoked = await platform.key("acme", w.slug);
      await revokeKey(ctx, ADMIN, "acme", w.slug, revoked.id);
      const expired = await platform.key("acme", w.slug, { expires_at: new Date(Date.now() + 3_600_000).toISOString() });
      // Expire it in the store: the control API refuses to create an already-expired key.
      const item = itemKeys.secret(digestSecret(ctx.serverSecret, expired.secret));
      const stored = await ctx.store.get(item.pk, item.sk);
      if (stored === undefined) throw new Error("key item missing");
      await ctx.store.put(
        { ...stored, data: { ...stored.data, expires_at: new Date(Date.now() - 1000).toISOString() } },
        { kind: "version", version: stored.version },
      );
      cases.set(
        w.slug,
        new Map([
          ["no key", { header: undefined, status: 401, code: "missing_api_key" }],
          ["malformed", { header: "Bearer ik_live_notarealkey", status: 401, code: "malformed_api_key" }],
          ["other workload's key", { header: `Bearer ${otherWorkload.secret}`, status: 401, code: "key_wrong_workload" }],
          ["other project's key", { header: `Bearer ${otherProject.secret}`, status: 401, code: "key_wrong_workload" }],
          ["revoked", { header: `Bearer ${revoked.secret}`, status: 401, code: "key_revoked" }],
          ["expired", { header: `Bearer ${expired.secret}`, status: 401, code: "key_expired" }],
        ]),
      );
    }
  });

  afterAll(async () => {
    await served?.close();
    await stopAllReplicas();
  });

  const routes = FLEET.flatMap((w) => w.routes.map((route) => ({ workload: w.slug, route })));

  it.each(routes)("$route: every rejected key answers 401 with its own code and makes no upstream call", async ({ workload, route }) => {
    // Prepare
    const before = await fleet.upstreamRequests();
    const results: Record<string, { status: number; code: unknown; type: unknown }> = {};

    const matrix = cases.get(workload) ?? new Map();

    // Act
    for (const [name, c] of matrix) {
      const sample = sampleRequest(route);
      const response = await fetch(`${served.url}/endpoint/acme/${workload}/v1/${route}`, {
        method: sample.method,
        headers: {
          ...(c.header === undefined ? {} : { authorization: c.header }),
          ...(sample.contentType === undefined ? {} : { "content-type": sample.contentType }),
        },
        ...(sample.body === undefined ? {} : { body: sample.body }),
      });
      const body = (await response.json()) as { error: { code: unknown; type: unknown } };
      results[name] = { status: response.status, code: body.error.code, type: body.error.type };
    }
    const after = await fleet.upstreamRequests();

    // Assess
    expect(Object.keys(results)).toHaveLength(6);
    for (const [name, c] of matrix) {
      expect(results[name], name).toEqual({ status: c.status, code: c.code, type: "authentication_error" });
    }
    expect(after - before).toBe(0);
  });

  it.each(routes)("$route: the workload's valid key gets through (200)", async ({ workload, route }) => {
    // Prepare
    const sample = sampleRequest(route);
    const before = (await fleet.replicas.get(workload)?.stats())?.requests ?? 0;

    // Act
    const response = await fetch(`${served.url}/endpoint/acme/${workload}/v1/${route}`, {
      method: sample.method,
      headers: {
        authorization: `Bearer ${fleet.keys.get(workload)?.secret}`,
        ...(sample.contentType === undefined ? {} : { "content-type": sample.contentType }),
      },
      ...(sample.body === undefined ? {} : { body: sample.body }),
    });
    await response.arrayBuffer();
    const after = (await fleet.replicas.get(workload)?.stats())?.requests ?? 0;

    // Assess
    expect(response.status).toBe(200);
    expect(after - before).toBe(1);
  });

  it("the valid key of one workload is refused by every other workload's routes", async () => {
    // Prepare
    const chatKey = fleet.keys.get("chat")?.secret ?? "";
    const before = await fleet.upstreamRequests();

    // Act
    const statuses = await Promise.all(
      FLEET.filter((w) => w.slug !== "chat").map(async (w) => {
        const response = await fetch(`${served.url}/endpoint/acme/${w.slug}/v1/${w.routes[0]}`, {
          method: "POST",
          headers: { authorization: `Bearer ${chatKey}`, "content-type": "application/json" },
          body: "{}",
        });
        return ((await response.json()) as { error: { code: string } }).error.code;
      }),
    );

    // Assess
    expect(new Set(statuses)).toEqual(new Set(["key_wrong_workload"]));
    expect(await fleet.upstreamRequests()).toBe(before);
  });

  it("a malformed key, a bad checksum or a control token costs no store read", async () => {
    // Prepare
    const platform = new TestPlatform();
    let reads = 0;
    const store = platform.ctx.store;
    const get = store.get.bind(store);
    store.get = (pk, sk) => {
      reads++;
      return get(pk, sk);
    };
    const local = await serveGateway(platform, {}, binding);
    const valid = "ik_live_000000000000000000000000";
    const headers = [
      "Bearer nope",
      "Basic dXNlcjpwYXNz",
      `Bearer ${valid}AAAAAA`,
      "Bearer ik_sdk_000000000000000000000000AAAAAA",
    ];

    // Act
    const codes: string[] = [];
    for (const authorization of headers) {
      const response = await fetch(`${local.url}/endpoint/acme/chat/v1/chat/completions`, {
        method: "POST",
        headers: { authorization },
        body: "{}",
      });
      codes.push(((await response.json()) as { error: { code: string } }).error.code);
    }
    await local.close();

    // Assess
    expect(codes).toEqual(["malformed_api_key", "malformed_api_key", "malformed_api_key", "wrong_key_kind"]);
    expect(reads).toBe(0);
  });

  it("an unknown but well-formed key answers invalid_api_key, and the answer is cached briefly", async () => {
    // Prepare
    const platform = new TestPlatform();
    let reads = 0;
    const store = platform.ctx.store;
    const get = store.get.bind(store);
    store.get = (pk, sk) => {
      reads++;
      return get(pk, sk);
    };
    const local = await serveGateway(platform, {}, binding);
    const { generateSecret } = await import("../../src/secrets");
    const unknown = generateSecret("live");

    // Act
    const codes: string[] = [];
    for (let i = 0; i < 3; i++) {
      const response = await fetch(`${local.url}/endpoint/acme/chat/v1/chat/completions`, {
        method: "POST",
        headers: { authorization: `Bearer ${unknown}` },
        body: "{}",
      });
      codes.push(((await response.json()) as { error: { code: string } }).error.code);
    }
    await local.close();

    // Assess
    expect(codes).toEqual(["invalid_api_key", "invalid_api_key", "invalid_api_key"]);
    expect(reads).toBe(1);
  });
});
