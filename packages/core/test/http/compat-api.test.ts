import { describe, expect, it } from "vitest";
import {
  bootstrapAdminToken,
  createControlApi,
  ForbiddenError,
  keys,
  MemoryStore,
  type PlatformContext,
  type WorkloadAdmission,
} from "../../src";

/**
 * The vendor-compatible `/api` surface (issue 18 point 1) over the /v1 domain functions: what the
 * vendor SDK sends and reads (recorded from inferencekey 0.260725.739; the SDK itself runs in
 * test/compat/vendor-sdk.test.ts).
 */
const vendorSpec = {
  name: "Support bot",
  slug: "support-bot",
  model_name: "meta-llama/Llama-3.1-8B-Instruct",
  backend: "vllm",
  task_type: "text2text",
  config: { command: "vllm serve meta-llama/Llama-3.1-8B-Instruct --max-model-len 8192", vllm_version: "0.6.3" },
  execution_policy: "scheduled",
  execution_policy_config: { window: "Mon-Fri 09:00-18:00 UTC" },
  gpu_resource_id: "NVIDIA L4",
  description: "answers tickets",
};

async function setup(admitWorkload?: WorkloadAdmission) {
  const ctx: PlatformContext = { store: new MemoryStore(), serverSecret: "s", now: () => new Date() };
  const admin = (await bootstrapAdminToken(ctx))?.secret as string;
  const api = createControlApi(ctx, { log: () => undefined, ...(admitWorkload === undefined ? {} : { admitWorkload }) });
  const call = async (token: string | undefined, method: string, path: string, body?: unknown) => {
    const response = await api(
      new Request(`http://local${path}`, {
        method,
        headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), "content-type": "application/json" },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      }),
    );
    const text = await response.text();
    // biome-ignore lint/suspicious/noExplicitAny: assertions walk arbitrary JSON bodies
    return { status: response.status, body: (text === "" ? null : JSON.parse(text)) as any };
  };
  const projectToken = async (project: string) => {
    await call(admin, "POST", "/v1/projects", { slug: project });
    return (await call(admin, "POST", "/v1/tokens", { name: `${project} only`, project })).body.token as string;
  };
  return { ctx, admin, call, projectToken };
}

describe("/api: the vendor SDK's control surface", () => {
  it("create answers 201 with exactly the vendor's fields, every stored value as sent (no server-filled default)", async () => {
    const { admin, call } = await setup();

    const created = await call(admin, "POST", "/api/projects/acme/workloads", vendorSpec);
    const listed = await call(admin, "GET", "/api/projects/acme/workloads");

    expect(created.status).toBe(201);
    expect(Object.keys(created.body).sort()).toEqual(
      [
        "backend", "config", "created_at", "description", "execution_policy", "execution_policy_config", "gpu_resource_id", "id",
        "model_name", "name", "project_id", "slug", "task_type", "updated_at", "vllm_version", "worker_id",
      ],
    );
    expect(created.body).toMatchObject({ ...vendorSpec, id: expect.stringMatching(/^wl_/), project_id: "acme", vllm_version: "0.6.3", worker_id: null });
    // The scheduled policy's `replicas` default is not added to what was sent.
    expect(created.body.execution_policy_config).toEqual({ window: "Mon-Fri 09:00-18:00 UTC" });
    expect(listed.status).toBe(200);
    expect(listed.body).toEqual([created.body]);
  });

  it("the same workload through /v1 carries the normalised spec", async () => {
    const { admin, call } = await setup();
    await call(admin, "POST", "/api/projects/acme/workloads", vendorSpec);

    const v1 = await call(admin, "GET", "/v1/projects/acme/workloads/support-bot");

    expect(v1.body.spec).toMatchObject({
      model: vendorSpec.model_name,
      command: vendorSpec.config.command,
      vllm_version: "0.6.3",
      execution_policy_config: { window: "Mon-Fri 09:00-18:00 UTC", replicas: 1 },
    });
  });

  it("a field changed since through /v1 shows the stored value, the others stay as sent", async () => {
    const { admin, call } = await setup();
    const created = await call(admin, "POST", "/api/projects/acme/workloads", vendorSpec);

    await call(admin, "PUT", "/v1/projects/acme/workloads/support-bot", {
      name: "Support bot",
      model: vendorSpec.model_name,
      backend: "vllm",
      command: vendorSpec.config.command,
      vllm_version: "0.6.3",
      execution_policy: "scheduled",
      execution_policy_config: { window: "Mon-Fri 09:00-18:00 UTC", replicas: 2 },
    });
    const shown = await call(admin, "GET", `/api/workloads/${created.body.id}`);

    expect(shown.body.execution_policy_config).toEqual({ window: "Mon-Fri 09:00-18:00 UTC", replicas: 2 });
    expect(shown.body.config).toEqual(vendorSpec.config);
    expect(shown.body.description).toBe("answers tickets");
  });

  it("PATCH applies only the fields sent: a description moves no generation, a policy config does", async () => {
    const { admin, call } = await setup();
    const created = await call(admin, "POST", "/api/projects/acme/workloads", vendorSpec);

    const described = await call(admin, "PATCH", `/api/workloads/${created.body.id}`, { description: "new words" });
    const afterDescription = await call(admin, "GET", "/v1/projects/acme/workloads/support-bot");
    const patched = await call(admin, "PATCH", `/api/workloads/${created.body.id}`, { execution_policy_config: { window: "Sat 10:00-12:00 UTC", replicas: 2 } });
    const afterPolicy = await call(admin, "GET", "/v1/projects/acme/workloads/support-bot");

    expect(described.status).toBe(200);
    expect(described.body.description).toBe("new words");
    expect(afterDescription.body.generation).toBe(1);
    expect(patched.body).toMatchObject({ execution_policy_config: { window: "Sat 10:00-12:00 UTC", replicas: 2 }, description: "new words" });
    expect(afterPolicy.body.generation).toBe(2);
  });

  it("PATCH of config replaces it whole: a vllm_version left out of it is removed", async () => {
    const { admin, call } = await setup();
    const created = await call(admin, "POST", "/api/projects/acme/workloads", vendorSpec);

    const patched = await call(admin, "PATCH", `/api/workloads/${created.body.id}`, { config: { command: "vllm serve meta-llama/Llama-3.1-8B-Instruct" } });
    const v1 = await call(admin, "GET", "/v1/projects/acme/workloads/support-bot");

    expect(patched.body).toMatchObject({ config: { command: "vllm serve meta-llama/Llama-3.1-8B-Instruct" }, vllm_version: null });
    expect(v1.body.spec.vllm_version).toBeUndefined();
    expect(v1.body.generation).toBe(2);
  });

  it("a name is answered as sent, surrounding spaces included (the spec keeps it trimmed)", async () => {
    const { admin, call } = await setup();

    const created = await call(admin, "POST", "/api/projects/acme/workloads", { ...vendorSpec, name: " Support bot " });

    expect(created.body.name).toBe(" Support bot ");
    expect((await call(admin, "GET", "/v1/projects/acme/workloads/support-bot")).body.spec.name).toBe("Support bot");
  });

  it("create on an existing slug is a 409 naming the id to PATCH, and changes nothing", async () => {
    const { admin, call } = await setup();
    const created = await call(admin, "POST", "/api/projects/acme/workloads", vendorSpec);

    const again = await call(admin, "POST", "/api/projects/acme/workloads", { ...vendorSpec, description: "other" });

    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({ code: "conflict", request_id: expect.stringMatching(/^req_/) });
    expect(again.body.error).toContain(`PATCH /api/workloads/${created.body.id}`);
    expect((await call(admin, "GET", `/api/workloads/${created.body.id}`)).body.description).toBe("answers tickets");
  });

  it("invalid input is a 400 in the vendor's field names, the explanation in `error`", async () => {
    const { admin, call } = await setup();

    const response = await call(admin, "POST", "/api/projects/acme/workloads", { ...vendorSpec, model_name: "x y", config: { command: "" } });

    expect(response.status).toBe(400);
    expect(response.body.code).toBe("validation_failed");
    expect(response.body.details.map((d: { path: string }) => d.path).sort()).toEqual(["config.command", "model_name"]);
    expect(response.body.error).toContain("model_name:");
  });

  it("gpu_resource_id is a catalog GPU by display name or instance type, else a 400 with a suggestion", async () => {
    const { admin, call } = await setup();

    const byType = await call(admin, "POST", "/api/projects/acme/workloads", { ...vendorSpec, gpu_resource_id: "g6.xlarge" });
    const unknown = await call(admin, "POST", "/api/projects/acme/workloads", { ...vendorSpec, slug: "other", gpu_resource_id: "NVIDIA L5" });

    expect(byType.status).toBe(201);
    expect(byType.body.gpu_resource_id).toBe("g6.xlarge");
    expect(unknown.status).toBe(400);
    expect(unknown.body.details[0]).toMatchObject({ path: "gpu_resource_id", suggestion: "NVIDIA L4" });
  });

  it("delete answers 204, then the id is 404; a workload created through /v1 is found by its id too", async () => {
    const { admin, call } = await setup();
    await call(admin, "PUT", "/v1/projects/acme/workloads/from-v1", { name: "v1", model: "org/m", backend: "vllm" });
    const [fromV1] = (await call(admin, "GET", "/api/projects/acme/workloads")).body;

    const deleted = await call(admin, "DELETE", `/api/workloads/${fromV1.id}`);
    const again = await call(admin, "DELETE", `/api/workloads/${fromV1.id}`);

    expect(fromV1).toMatchObject({ slug: "from-v1", model_name: "org/m", config: { command: "vllm serve org/m" }, execution_policy: "fixed" });
    expect(deleted.status).toBe(204);
    expect(again.status).toBe(404);
    expect(again.body).toMatchObject({ code: "not_found" });
  });

  it("a workload from before id items is found by one search (and indexed); a project token searches only its project", async () => {
    const { ctx, admin, call, projectToken } = await setup();
    const created = await call(admin, "POST", "/api/projects/acme/workloads", vendorSpec);
    const other = await projectToken("other");
    const item = keys.workloadId(created.body.id);
    await ctx.store.delete(item.pk, item.sk, { kind: "any" });

    const fromOther = await call(other, "GET", `/api/workloads/${created.body.id}`);
    const byAdmin = await call(admin, "GET", `/api/workloads/${created.body.id}`);
    const indexed = await ctx.store.get(item.pk, item.sk);

    expect(fromOther.status).toBe(404);
    expect(byAdmin.status).toBe(200);
    expect(indexed?.data).toEqual({ project: "acme", slug: "support-bot" });
    expect((await call(other, "GET", `/api/workloads/${created.body.id}`)).body.error).toBe("project_scope_mismatch");
  });

  it("a project-scoped token gets project_scope_mismatch on another project's list, create, id and readiness", async () => {
    const { admin, call, projectToken } = await setup();
    const created = await call(admin, "POST", "/api/projects/acme/workloads", vendorSpec);
    const other = await projectToken("other");

    const responses = [
      await call(other, "GET", "/api/projects/acme/workloads"),
      await call(other, "POST", "/api/projects/acme/workloads", { ...vendorSpec, slug: "mine" }),
      await call(other, "GET", `/api/workloads/${created.body.id}`),
      await call(other, "PATCH", `/api/workloads/${created.body.id}`, { description: "taken" }),
      await call(other, "DELETE", `/api/workloads/${created.body.id}`),
      await call(other, "GET", "/api/projects/acme/workloads/support-bot/readiness-events"),
    ];

    expect(responses.map((r) => [r.status, r.body.error])).toEqual(responses.map(() => [403, "project_scope_mismatch"]));
    expect((await call(admin, "GET", `/api/workloads/${created.body.id}`)).body.description).toBe("answers tickets");
    expect((await call(other, "GET", "/api/projects/other/workloads")).body).toEqual([]);
  });

  it("an ik_live_ key is wrong_credential_type; a refused admission is scope_insufficient; no token is a 401", async () => {
    const refuse: WorkloadAdmission = (_ctx, principal) => {
      if (principal.project !== undefined) throw new ForbiddenError("project-scoped tokens may not run commands on this host");
    };
    const { admin, call, projectToken } = await setup(refuse);
    const acme = await projectToken("acme");

    const live = await call("ik_live_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "GET", "/api/projects/acme/workloads");
    const refused = await call(acme, "POST", "/api/projects/acme/workloads", vendorSpec);
    const anonymous = await call(undefined, "GET", "/api/projects/acme/workloads");

    expect([live.status, live.body.error]).toEqual([403, "wrong_credential_type"]);
    expect([refused.status, refused.body.error]).toEqual([403, "scope_insufficient"]);
    expect(refused.body.message).toContain("may not run commands");
    expect(anonymous.status).toBe(401);
    expect(anonymous.body.code).toBe("unauthorized");
    expect((await call(admin, "GET", "/api/projects/acme/workloads")).body).toEqual([]);
  });

  it("an organisation token lists a project that does not exist yet as empty (its first create makes it)", async () => {
    const { admin, call } = await setup();
    expect((await call(admin, "GET", "/api/projects/new-one/workloads")).body).toEqual([]);
    expect((await call(admin, "POST", "/api/projects/new-one/workloads", vendorSpec)).status).toBe(201);
  });
});
