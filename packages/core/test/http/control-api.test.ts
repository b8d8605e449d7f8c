import { describe, expect, it } from "vitest";
import { bootstrapAdminToken, createControlApi, MemoryStore, type PlatformContext, resetAdminToken } from "../../src";

const spec = { name: "Support bot", slug: "support-bot", model: "meta-llama/Llama-3.1-8B-Instruct", backend: "vllm" };

async function setup() {
  const ctx: PlatformContext = { store: new MemoryStore(), serverSecret: "s", now: () => new Date() };
  const admin = (await bootstrapAdminToken(ctx))?.secret as string;
  const api = createControlApi(ctx, { log: () => undefined });
  const call = async (token: string | undefined, method: string, path: string, body?: unknown, extra: Record<string, string> = {}) => {
    const response = await api(
      new Request(`http://local${path}`, {
        method,
        headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), "content-type": "application/json", ...extra },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      }),
    );
    // biome-ignore lint/suspicious/noExplicitAny: assertions walk arbitrary JSON bodies; toMatchObject checks their shape
    return { status: response.status, body: (await response.json()) as Record<string, any>, headers: response.headers };
  };
  return { ctx, admin, call };
}

describe("control API", () => {
  it("ensure answers 201 then 200 with the ref fields the SDKs read", async () => {
    const { admin, call } = await setup();

    const first = await call(admin, "PUT", "/v1/projects/acme/workloads/support-bot", spec);
    const second = await call(admin, "PUT", "/v1/projects/acme/workloads/support-bot", spec);

    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({ project_slug: "acme", workload_slug: "support-bot", generation: 1, changed: true });
    expect(second.status).toBe(200);
    expect(second.body).toMatchObject({ generation: 1, changed: false });
    expect(second.headers.get("x-request-id")).toMatch(/^req_/);
  });

  it("a bad spec answers 400 with the one error shape and wire paths", async () => {
    const { admin, call } = await setup();

    const response = await call(admin, "PUT", "/v1/projects/acme/workloads/support-bot", { ...spec, backend: "vlm" });

    expect(response.status).toBe(400);
    expect(response.body.error).toMatchObject({
      code: "validation_failed",
      request_id: expect.stringMatching(/^req_/),
      details: [{ path: "backend", received: "vlm", suggestion: "vllm", expected: expect.any(String) }],
    });
  });

  it("on_drift=fail answers 409 drift_detected with the diff", async () => {
    const { admin, call } = await setup();
    await call(admin, "PUT", "/v1/projects/acme/workloads/support-bot", spec);

    const response = await call(admin, "PUT", "/v1/projects/acme/workloads/support-bot?on_drift=fail", { ...spec, model: "x/y" });

    expect(response.status).toBe(409);
    // The command was derived from the model (none given), so it drifts with it.
    expect(response.body.error.code).toBe("drift_detected");
    expect(response.body.error.details.map((d: { path: string }) => d.path)).toEqual(["command", "model"]);
  });

  it("rejects unknown on_drift values, bad JSON and mismatched slugs with 400", async () => {
    const { admin, call } = await setup();
    expect((await call(admin, "PUT", "/v1/projects/acme/workloads/support-bot?on_drift=merge", spec)).status).toBe(400);
    expect((await call(admin, "PUT", "/v1/projects/acme/workloads/other", spec)).body.error.details[0].path).toBe("slug");
  });

  it("401 without a token, with a malformed one, and with an ik_live_ key", async () => {
    const { call } = await setup();
    expect((await call(undefined, "GET", "/v1/projects")).status).toBe(401);
    expect((await call("ik_sdk_nope", "GET", "/v1/projects")).status).toBe(401);
    expect((await call("ik_live_abcdefabcdefabcdefabcdefabcdef", "GET", "/v1/projects")).body.error.message).toContain("ik_sdk_");
  });

  it("a token with a wrong checksum is told so, not that its length is wrong", async () => {
    // Prepare: the admin token with its last character changed (right prefix, right length).
    const { admin, call } = await setup();
    const mistyped = `${admin.slice(0, -1)}${admin.endsWith("A") ? "B" : "A"}`;

    // Act
    const response = await call(mistyped, "GET", "/v1/projects");

    // Assess
    expect(response.status).toBe(401);
    expect(response.body.error.message).toMatch(/^The token is malformed: its checksum does not match/);
    expect(response.body.error.message).not.toContain("followed by 30");
  });

  it("a revoked admin token gets the platform's hint (under npm start: re-source dev.env); other tokens do not", async () => {
    // Prepare
    const ctx: PlatformContext = { store: new MemoryStore(), serverSecret: "s", now: () => new Date() };
    const old = (await bootstrapAdminToken(ctx))?.secret as string;
    const current = (await resetAdminToken(ctx)).secret;
    const api = createControlApi(ctx, { log: () => undefined, revokedAdminTokenHint: "Run `source .inferencekey/dev.env` again." });
    const projectToken = await api(
      new Request("http://local/v1/tokens", { method: "POST", headers: { authorization: `Bearer ${current}`, "content-type": "application/json" }, body: JSON.stringify({ name: "ci" }) }),
    ).then((r) => r.json() as Promise<{ id: string; token: string }>);
    await api(new Request(`http://local/v1/tokens/${projectToken.id}`, { method: "DELETE", headers: { authorization: `Bearer ${current}` } }));
    const messageFor = async (token: string) =>
      ((await (await api(new Request("http://local/v1/projects", { headers: { authorization: `Bearer ${token}` } }))).json()) as { error: { message: string } }).error.message;

    // Act + Assess
    expect(await messageFor(old)).toBe("The token has been revoked. Run `source .inferencekey/dev.env` again.");
    expect(await messageFor(projectToken.token)).toBe("The token has been revoked.");
  });

  it("a worker token cannot call the control API", async () => {
    const { admin, call } = await setup();
    await call(admin, "POST", "/v1/projects", { slug: "acme" });
    const worker = await call(admin, "POST", "/v1/projects/acme/workers", { name: "box" });

    const response = await call(worker.body.token, "GET", "/v1/projects/acme/workers");

    expect(response.status).toBe(401);
  });

  it("405 names the allowed methods; unknown routes are 404", async () => {
    const { admin, call } = await setup();
    expect((await call(admin, "PATCH", "/v1/projects/acme")).status).toBe(405);
    expect((await call(admin, "GET", "/v1/nothing")).status).toBe(404);
  });

  it("keys: create shows the key once; list shows prefix and last 4 only; revoke and rotate", async () => {
    const { admin, call } = await setup();
    await call(admin, "PUT", "/v1/projects/acme/workloads/support-bot", spec);

    const created = await call(admin, "POST", "/v1/projects/acme/workloads/support-bot/keys", { name: "web", rate_limit_per_minute: 60 });
    const listed = await call(admin, "GET", "/v1/projects/acme/workloads/support-bot/keys");
    const rotated = await call(admin, "POST", `/v1/projects/acme/workloads/support-bot/keys/${created.body.id}/rotate`, { old_key_expires_in_seconds: 60 });
    const revoked = await call(admin, "DELETE", `/v1/projects/acme/workloads/support-bot/keys/${rotated.body.id}`);

    expect(created.status).toBe(201);
    expect(created.body.key).toMatch(/^ik_live_/);
    expect(JSON.stringify(listed.body)).not.toContain(created.body.key);
    expect(listed.body.data[0]).toMatchObject({ id: created.body.id, prefix: "ik_live_", last4: created.body.key.slice(-4) });
    expect(rotated.body.key).toMatch(/^ik_live_/);
    expect(rotated.body.previous.expires_at).toBeDefined();
    expect(revoked.body.revoked_at).toBeDefined();
  });

  it("cross-project: every route on another project's objects answers 404 to a project-scoped token", async () => {
    // Prepare: globex has a workload, a key and a worker; the token is scoped to acme.
    const { admin, call } = await setup();
    await call(admin, "PUT", "/v1/projects/acme/workloads/support-bot", spec);
    await call(admin, "PUT", "/v1/projects/globex/workloads/support-bot", spec);
    const key = await call(admin, "POST", "/v1/projects/globex/workloads/support-bot/keys", { name: "k" });
    const worker = await call(admin, "POST", "/v1/projects/globex/workers", { name: "box" });
    const token = (await call(admin, "POST", "/v1/tokens", { name: "acme", project: "acme" })).body.token as string;
    const other = "/v1/projects/globex";
    const routes: [string, string, unknown?][] = [
      ["GET", other],
      ["GET", `${other}/workloads`],
      ["PUT", `${other}/workloads/support-bot`, spec],
      ["PUT", `${other}/workloads/new-one`, { ...spec, slug: "new-one" }],
      ["GET", `${other}/workloads/support-bot`],
      ["DELETE", `${other}/workloads/support-bot`],
      ["POST", `${other}/workloads/support-bot/keys`, { name: "x" }],
      ["GET", `${other}/workloads/support-bot/keys`],
      ["DELETE", `${other}/workloads/support-bot/keys/${key.body.id}`],
      ["POST", `${other}/workloads/support-bot/keys/${key.body.id}/rotate`, {}],
      ["POST", `${other}/workers`, { name: "x" }],
      ["GET", `${other}/workers`],
      ["GET", `${other}/workers/${worker.body.id}`],
      ["DELETE", `${other}/workers/${worker.body.id}`],
      ["GET", "/v1/projects/does-not-exist"],
    ];

    // Act
    const statuses = await Promise.all(routes.map(async ([method, path, body]) => [method, path, (await call(token, method, path, body)).status]));

    // Assess: all 404, and globex is untouched.
    expect(statuses.filter(([, , status]) => status !== 404)).toEqual([]);
    expect((await call(admin, "GET", `${other}/workloads/support-bot`)).status).toBe(200);
    expect((await call(admin, "GET", `${other}/workers`)).body.data).toHaveLength(1);
    expect((await call(token, "GET", "/v1/projects")).body.data.map((p: { slug: string }) => p.slug)).toEqual(["acme"]);
  });

  it("Idempotency-Key: a retried create answers the same resource and the same secret; another body is a 409", async () => {
    const { admin, call } = await setup();
    await call(admin, "PUT", "/v1/projects/acme/workloads/support-bot", spec);
    const keyPath = "/v1/projects/acme/workloads/support-bot/keys";

    const first = await call(admin, "POST", keyPath, { name: "web" }, { "idempotency-key": "create-web-1" });
    const retry = await call(admin, "POST", keyPath, { name: "web" }, { "idempotency-key": "create-web-1" });
    const other = await call(admin, "POST", keyPath, { name: "other" }, { "idempotency-key": "create-web-1" });
    const workerA = await call(admin, "POST", "/v1/projects/acme/workers", { name: "box" }, { "idempotency-key": "w-1" });
    const workerB = await call(admin, "POST", "/v1/projects/acme/workers", { name: "box" }, { "idempotency-key": "w-1" });

    expect(first.status).toBe(201);
    expect(retry.body).toMatchObject({ id: first.body.id, key: first.body.key });
    expect(other.status).toBe(409);
    expect((await call(admin, "GET", keyPath)).body.data).toHaveLength(1);
    expect(workerB.body).toMatchObject({ id: workerA.body.id, token: workerA.body.token });
    expect((await call(admin, "GET", "/v1/projects/acme/workers")).body.data).toHaveLength(1);
  });

  it("registering a worker in a new project creates it (organisation token), like ensure", async () => {
    const { admin, call } = await setup();
    expect((await call(admin, "POST", "/v1/projects/fresh/workers", { name: "box" })).status).toBe(201);
    expect((await call(admin, "GET", "/v1/projects/fresh")).status).toBe(200);
  });

  it("a project token cannot manage tokens", async () => {
    const { admin, call } = await setup();
    await call(admin, "POST", "/v1/projects", { slug: "acme" });
    const token = (await call(admin, "POST", "/v1/tokens", { name: "acme", project: "acme" })).body.token as string;
    expect((await call(token, "GET", "/v1/tokens")).status).toBe(403);
    expect((await call(token, "POST", "/v1/tokens", { name: "x" })).status).toBe(403);
  });
});
