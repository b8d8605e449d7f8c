import { describe, expect, it } from "vitest";
import {
  authenticateSdkToken,
  bootstrapAdminToken,
  type Compute,
  createControlApi,
  createProject,
  createToken,
  ensureWorkload,
  heartbeat,
  keys,
  listWorkerReplicas,
  MAX_PROJECT_SECRET_VALUE_BYTES,
  MemoryStore,
  type PlatformContext,
  projectSecretNameProblem,
  readProjectSecretValues,
  reconcileAll,
  registerWorker,
} from "../../src";

const VALUE = "hf_abcdefghijklmnopqrstuvwxyz0123456789";

async function setup(serverSecret = "server-secret-one") {
  const store = new MemoryStore();
  const ctx: PlatformContext = { store, serverSecret, now: () => new Date("2026-12-02T10:00:00Z") };
  const adminToken = (await bootstrapAdminToken(ctx))?.secret as string;
  const admin = await authenticateSdkToken(ctx, `Bearer ${adminToken}`);
  await createProject(ctx, admin, { slug: "acme" });
  await createProject(ctx, admin, { slug: "other" });
  const acmeToken = (await createToken(ctx, admin, { name: "acme ci", project: "acme" })).secret;
  const otherToken = (await createToken(ctx, admin, { name: "other ci", project: "other" })).secret;
  const orgReader = (await createToken(ctx, admin, { name: "org, not admin" })).secret;
  const api = createControlApi(ctx, { log: () => undefined });
  const call = async (token: string, method: string, path: string, body?: unknown) => {
    const response = await api(
      new Request(`http://local${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        ...(body === undefined ? {} : { body: typeof body === "string" ? body : JSON.stringify(body) }),
      }),
    );
    const text = await response.text();
    // biome-ignore lint/suspicious/noExplicitAny: assertions walk arbitrary JSON bodies
    return { status: response.status, text, body: JSON.parse(text) as Record<string, any> };
  };
  return { ctx, store, admin, adminToken, acmeToken, otherToken, orgReader, call };
}

describe("project secret names", () => {
  it("accepts environment variable names and refuses reserved and malformed ones, saying why", () => {
    expect(projectSecretNameProblem("HF_TOKEN")).toBeUndefined();
    expect(projectSecretNameProblem("_X1")).toBeUndefined();
    expect(projectSecretNameProblem("A".repeat(128))).toBeUndefined();
    expect(projectSecretNameProblem("A".repeat(129))).toMatch(/1-128 characters/);
    expect(projectSecretNameProblem("hf_token")).toMatch(/uppercase/);
    expect(projectSecretNameProblem("1ABC")).toMatch(/not starting with a digit/);
    expect(projectSecretNameProblem("A-B")).toMatch(/environment variable name/);
    expect(projectSecretNameProblem("INFERENCEKEY_REPLICA_SECRET")).toMatch(/INFERENCEKEY_ are reserved/);
    expect(projectSecretNameProblem("LD_PRELOAD")).toMatch(/LD_ are reserved/);
    for (const name of ["PATH", "HOME", "PORT", "HOST", "CUDA_VISIBLE_DEVICES", "VLLM_API_KEY", "OLLAMA_HOST", "VIRTUAL_ENV"]) {
      expect(projectSecretNameProblem(name)).toMatch(/set by the agent/);
    }
  });
});

describe("project secrets over the control API", () => {
  it("sets, lists names only, replaces and deletes; no answer ever carries the value", async () => {
    const { acmeToken, call } = await setup();

    const created = await call(acmeToken, "PUT", "/v1/projects/acme/secrets/HF_TOKEN", { value: VALUE });
    const replaced = await call(acmeToken, "PUT", "/v1/projects/acme/secrets/HF_TOKEN", { value: `${VALUE}-2` });
    const listed = await call(acmeToken, "GET", "/v1/projects/acme/secrets");
    const deleted = await call(acmeToken, "DELETE", "/v1/projects/acme/secrets/HF_TOKEN");
    const again = await call(acmeToken, "DELETE", "/v1/projects/acme/secrets/HF_TOKEN");
    const after = await call(acmeToken, "GET", "/v1/projects/acme/secrets");

    expect(created.status).toBe(201);
    expect(created.body).toEqual({ name: "HF_TOKEN", created_at: "2026-12-02T10:00:00.000Z", updated_at: "2026-12-02T10:00:00.000Z" });
    expect(replaced.status).toBe(200);
    expect(listed.body).toEqual({ data: [{ name: "HF_TOKEN", created_at: "2026-12-02T10:00:00.000Z", updated_at: "2026-12-02T10:00:00.000Z" }] });
    expect(deleted.body).toEqual({ name: "HF_TOKEN", deleted: true });
    expect(again.status).toBe(404);
    expect(after.body).toEqual({ data: [] });
    for (const answer of [created, replaced, listed, deleted]) expect(answer.text).not.toContain("hf_abcdefghij");
  });

  it("stores only ciphertext: the value is nowhere in the stored item", async () => {
    const { acmeToken, call, store } = await setup();
    await call(acmeToken, "PUT", "/v1/projects/acme/secrets/HF_TOKEN", { value: VALUE });

    const item = await store.get(keys.projectSecret("acme", "HF_TOKEN").pk, keys.projectSecret("acme", "HF_TOKEN").sk);

    expect(item?.data).toMatchObject({ algorithm: "aes-256-gcm", key_version: "1" });
    expect(JSON.stringify(item)).not.toContain(VALUE);
    expect(JSON.stringify(item)).not.toContain(Buffer.from(VALUE).toString("base64").slice(0, 12));
  });

  it("refuses bad names and values naming the field and the rule, never quoting the value", async () => {
    const { acmeToken, call } = await setup();

    const badName = await call(acmeToken, "PUT", "/v1/projects/acme/secrets/PATH", { value: VALUE });
    const lower = await call(acmeToken, "PUT", "/v1/projects/acme/secrets/hf_token", { value: VALUE });
    const tooLong = await call(acmeToken, "PUT", "/v1/projects/acme/secrets/BIG", { value: `${VALUE}${"x".repeat(MAX_PROJECT_SECRET_VALUE_BYTES)}` });
    const empty = await call(acmeToken, "PUT", "/v1/projects/acme/secrets/EMPTY", { value: "" });
    const notString = await call(acmeToken, "PUT", "/v1/projects/acme/secrets/NUM", { value: 5 });
    const extra = await call(acmeToken, "PUT", "/v1/projects/acme/secrets/X", { value: VALUE, name: "X" });

    expect(badName.status).toBe(400);
    expect(badName.body.error.details[0]).toMatchObject({ path: "name", received: "PATH", message: "PATH is set by the agent for every backend" });
    expect(lower.body.error.details[0]).toMatchObject({ path: "name", received: "hf_token" });
    expect(tooLong.status).toBe(400);
    expect(tooLong.body.error.details[0]).toMatchObject({ path: "value", expected: expect.stringContaining("16384 UTF-8 bytes") });
    expect(tooLong.text).not.toContain(VALUE);
    expect(empty.body.error.details[0]).toMatchObject({ path: "value", message: "the value is empty" });
    expect(notString.body.error.details[0]).toMatchObject({ path: "value" });
    expect(extra.body.error.details[0]).toMatchObject({ message: "unknown field(s): name" });
  });

  it("admits the project's own tokens and the admin; other projects get a 404, a non-admin organisation token a 403", async () => {
    const { adminToken, otherToken, orgReader, call } = await setup();

    const byAdmin = await call(adminToken, "PUT", "/v1/projects/acme/secrets/HF_TOKEN", { value: VALUE });
    const byOther = await call(otherToken, "GET", "/v1/projects/acme/secrets");
    const byOtherWrite = await call(otherToken, "PUT", "/v1/projects/acme/secrets/HF_TOKEN", { value: "stolen-value" });
    const byOrgReader = await call(orgReader, "GET", "/v1/projects/acme/secrets");
    const missingProject = await call(adminToken, "GET", "/v1/projects/nope/secrets");

    expect(byAdmin.status).toBe(201);
    expect(byOther.status).toBe(404);
    expect(byOtherWrite.status).toBe(404);
    expect(byOrgReader.status).toBe(403);
    expect(missingProject.status).toBe(404);
  });

  it("deleting a project deletes its secrets: a re-created slug starts with none", async () => {
    const { ctx, adminToken, call } = await setup();
    await call(adminToken, "PUT", "/v1/projects/other/secrets/HF_TOKEN", { value: VALUE });

    await call(adminToken, "DELETE", "/v1/projects/other");
    await call(adminToken, "POST", "/v1/projects", { slug: "other" });

    expect((await call(adminToken, "GET", "/v1/projects/other/secrets")).body).toEqual({ data: [] });
    expect((await readProjectSecretValues(ctx, "other")).values).toEqual({});
  });
});

describe("encryption at rest and server-secret rotation", () => {
  it("round-trips values, including multi-byte ones, through AES-256-GCM", async () => {
    const { ctx, acmeToken, call } = await setup();
    await call(acmeToken, "PUT", "/v1/projects/acme/secrets/HF_TOKEN", { value: VALUE });
    await call(acmeToken, "PUT", "/v1/projects/acme/secrets/GREETING", { value: "héllo wörld ✓" });

    expect((await readProjectSecretValues(ctx, "acme")).values).toEqual({ HF_TOKEN: VALUE, GREETING: "héllo wörld ✓" });
    expect((await readProjectSecretValues(ctx, "other")).values).toEqual({});
  });

  it("a ciphertext moved to another project or name no longer decrypts", async () => {
    const { ctx, store, acmeToken, call } = await setup();
    await call(acmeToken, "PUT", "/v1/projects/acme/secrets/HF_TOKEN", { value: VALUE });
    const item = await store.get(keys.projectSecret("acme", "HF_TOKEN").pk, keys.projectSecret("acme", "HF_TOKEN").sk);

    await store.put({ ...keys.projectSecret("other", "HF_TOKEN"), data: { ...item?.data, project: "other" } }, { kind: "absent" });

    expect(await readProjectSecretValues(ctx, "other")).toEqual({ values: {}, undecryptable: ["HF_TOKEN"] });
  });

  it("after a rotation the previous server secret version still decrypts, and the value is re-encrypted under the new one", async () => {
    const { ctx, store, acmeToken, call } = await setup("server-secret-one");
    await call(acmeToken, "PUT", "/v1/projects/acme/secrets/HF_TOKEN", { value: VALUE });
    const one = { version: "1", secret: "server-secret-one" };
    const two = { version: "2", secret: "server-secret-two" };
    const rotated: PlatformContext = { ...ctx, serverSecret: two.secret, serverSecretKeyring: { current: two, previous: [one] } };
    const retired: PlatformContext = { ...ctx, serverSecret: two.secret, serverSecretKeyring: { current: two, previous: [] } };

    const lost = await readProjectSecretValues(retired, "acme");
    const read = await readProjectSecretValues(rotated, "acme");
    const item = await store.get(keys.projectSecret("acme", "HF_TOKEN").pk, keys.projectSecret("acme", "HF_TOKEN").sk);
    const afterRetirement = await readProjectSecretValues(retired, "acme");

    expect(lost).toEqual({ values: {}, undecryptable: ["HF_TOKEN"] });
    expect(read.values).toEqual({ HF_TOKEN: VALUE });
    expect(item?.data.key_version).toBe("2");
    expect(afterRetirement.values).toEqual({ HF_TOKEN: VALUE });
  });

  it("a version label reused for another secret does not open values of the old one", async () => {
    const { ctx, acmeToken, call } = await setup("server-secret-one");
    await call(acmeToken, "PUT", "/v1/projects/acme/secrets/HF_TOKEN", { value: VALUE });

    const relabelled: PlatformContext = { ...ctx, serverSecret: "another-secret-entirely", serverSecretKeyring: { current: { version: "1", secret: "another-secret-entirely" }, previous: [] } };

    expect(await readProjectSecretValues(relabelled, "acme")).toEqual({ values: {}, undecryptable: ["HF_TOKEN"] });
  });
});

describe("delivery through the agent API", () => {
  it("a worker's assignments carry its own project's secrets only, and reports are redacted of their values", async () => {
    const { ctx, admin, acmeToken, otherToken, call } = await setup();
    await call(acmeToken, "PUT", "/v1/projects/acme/secrets/HF_TOKEN", { value: VALUE });
    await call(otherToken, "PUT", "/v1/projects/other/secrets/OTHER_TOKEN", { value: "other-project-value" });
    const { worker } = await registerWorker(ctx, admin, "acme", { name: "box", addresses: ["127.0.0.1"] });
    const compute: Compute = { placeCloudReplica: async () => ({ workerId: worker.id, hourlyPriceUsd: 0 }) };
    await ensureWorkload(ctx, admin, "acme", { name: "chat", slug: "chat", model: "m/a", backend: "vllm" });
    const host = { hostname: "box", advertise_host: "127.0.0.1", gpus: [] };
    await heartbeat(ctx, { project: "acme", workerId: worker.id }, { host, replicas: [] });
    await reconcileAll(ctx, compute, { controllerId: "one" });

    const answer = await heartbeat(ctx, { project: "acme", workerId: worker.id }, { host, replicas: [] });
    const replica = (await listWorkerReplicas(ctx, worker.id))[0]?.record;
    await heartbeat(ctx, { project: "acme", workerId: worker.id }, {
      host,
      replicas: [
        { replica_id: replica?.id as string, port: replica?.port as number, restarts: 0, state: "failed", reason: `bad token ${VALUE}`, stderr_tail: [`HF_TOKEN=${VALUE}`] },
      ],
    });
    const stored = (await listWorkerReplicas(ctx, worker.id))[0]?.record;
    const events = await call(acmeToken, "GET", "/v1/projects/acme/workloads/chat/events");
    const status = await call(acmeToken, "GET", "/v1/projects/acme/workloads/chat");

    expect(answer.assignments).toHaveLength(1);
    expect(answer.assignments[0]?.env).toEqual({ HF_TOKEN: VALUE });
    expect(JSON.stringify(answer)).not.toContain("other-project-value");
    expect(stored?.reason).toBe("bad token [redacted]");
    expect(stored?.stderr_tail).toEqual(["HF_TOKEN=[redacted]"]);
    expect(events.text).toContain("[redacted]");
    expect(events.text).not.toContain(VALUE);
    expect(status.text).not.toContain(VALUE);
  });
});
