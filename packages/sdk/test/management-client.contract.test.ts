import { bootstrapAdminToken, createControlApi, MemoryStore, type PlatformContext } from "@inferencekey/core";
import { describe, expect, it } from "vitest";
import {
  AuthenticationError,
  DriftError,
  type EnsureSpec,
  ManagementClient,
  NotFoundError,
  OnDrift,
  ValidationError,
} from "../src";
import { GUIDE_SPECS, GUIDE_WORKER_ID } from "./helpers/guide-specs";

/**
 * The SDK against the real control API handler of `@inferencekey/core`, in process: the wire
 * contract (routes, casing, error shape, status codes) is checked end to end without a network.
 */
async function platform() {
  const ctx: PlatformContext = {
    store: new MemoryStore(),
    serverSecret: "contract-test",
    now: () => new Date(),
  };
  const admin = await bootstrapAdminToken(ctx);
  if (admin === undefined) throw new Error("bootstrap returned no token");
  const api = createControlApi(ctx, { log: () => undefined });
  const fetch = (url: string, init: RequestInit) => api(new Request(url, init));
  const client = (token = admin.secret) =>
    new ManagementClient({ token, project: "acme", baseUrl: "http://control.test", fetch, maxRetries: 0 });
  return { mgmt: client(), client };
}

const spec = (name: string): EnsureSpec => {
  const found = GUIDE_SPECS[name];
  if (found === undefined) throw new Error(`no guide spec ${name}`);
  return found;
};

/** The guide's specs with the placeholder worker id swapped for one the project really has. */
function withWorker(value: EnsureSpec, workerId: string): EnsureSpec {
  return JSON.parse(JSON.stringify(value).replaceAll(GUIDE_WORKER_ID, workerId)) as EnsureSpec;
}

describe("ManagementClient against the control API", () => {
  it("ensure creates, is idempotent, fails on drift when asked, then reconciles", async () => {
    // Prepare
    const { mgmt } = await platform();
    const original = spec("text2text provision");
    const changed: EnsureSpec = { ...original, executionPolicyConfig: { replicas: 2 } };

    // Act
    const created = await mgmt.ensure(original);
    const again = await mgmt.ensure(original);
    const drift = await mgmt.ensure(changed, { onDrift: OnDrift.Fail }).catch((e: unknown) => e);
    const ignored = await mgmt.ensure(changed, { onDrift: OnDrift.Ignore });
    const reconciled = await mgmt.ensure(changed);

    // Assess
    expect(created).toMatchObject({
      projectSlug: "acme",
      workloadSlug: "support-bot",
      generation: 1,
      created: true,
      changed: true,
    });
    expect(created.workload.spec).toMatchObject({ task_type: "text2text", execution_policy: "fixed" });
    expect(created.workload.status.conditions.map((c) => c.type)).toEqual(["Accepted", "Ready"]);
    expect(again).toMatchObject({ generation: 1, created: false, changed: false, differences: [] });
    expect(drift).toBeInstanceOf(DriftError);
    expect(drift).toMatchObject({
      status: 409,
      code: "drift_detected",
      details: [{ path: "executionPolicyConfig.replicas" }],
    });
    expect((drift as DriftError).requestId).toMatch(/^req_/);
    expect(ignored).toMatchObject({ changed: false, generation: 1 });
    expect(reconciled).toMatchObject({
      changed: true,
      generation: 2,
      differences: [{ path: "execution_policy_config.replicas", from: 1, to: 2 }],
    });
  });

  it("every guide spec is accepted by the server", async () => {
    // Prepare
    const { mgmt } = await platform();
    // Workers live in a project; an ensure() is what creates the project.
    await mgmt.ensure(spec("cloud minimal"));
    const worker = await mgmt.workers.register({ name: "gpu-box-1" });

    // Act
    const refs = [];
    for (const [name, value] of Object.entries(GUIDE_SPECS)) {
      const ref = await mgmt.ensure({
        ...withWorker(value, worker.id),
        slug: `${value.slug}-${refs.length}`,
      });
      refs.push({ name, created: ref.created });
    }

    // Assess
    expect(refs.every((r) => r.created)).toBe(true);
    expect(refs).toHaveLength(Object.keys(GUIDE_SPECS).length);
  });

  it("reports a bad spec as a ValidationError with the caller's paths and suggestions", async () => {
    // Prepare
    const { mgmt } = await platform();
    const bad = {
      ...spec("text2text autoscaling cloud"),
      executionPolicyConfig: {
        min_replicas: 0,
        max_workers: 2,
        workers: { source: "cloud", cloud_pool: { gpu_pool: ["NVIDIA L4"] } },
      },
    } as unknown as EnsureSpec;

    // Act
    const error = await mgmt.ensure(bad).catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(ValidationError);
    const details = (error as ValidationError).details;
    expect(details).toContainEqual(
      expect.objectContaining({ path: "executionPolicyConfig.min_replicas", suggestion: "min_workers" }),
    );
    expect((error as ValidationError).message).toContain("executionPolicyConfig.min_replicas: ");
    expect((error as ValidationError).message).not.toContain("execution_policy_config");
    expect((error as ValidationError).requestId).toMatch(/^req_/);
  });

  it("get, list, listAll and delete", async () => {
    // Prepare
    const { mgmt } = await platform();
    for (const slug of ["a", "b", "c"])
      await mgmt.ensure({ name: slug, slug, model: "org/model", backend: "vllm" });

    // Act
    const one = await mgmt.get("b");
    const page = await mgmt.list({ limit: 2 });
    const all: string[] = [];
    for await (const workload of mgmt.listAll({ limit: 2 })) all.push(workload.slug);
    const deleted = await mgmt.delete("b");
    const gone = await mgmt.get("b").catch((e: unknown) => e);

    // Assess
    expect(one).toMatchObject({ slug: "b", projectSlug: "acme", generation: 1 });
    expect(page.data).toHaveLength(2);
    expect(page.nextCursor).toBeDefined();
    expect(all).toEqual(["a", "b", "c"]);
    expect(deleted).toEqual({ projectSlug: "acme", workloadSlug: "b", deleted: true });
    expect(gone).toBeInstanceOf(NotFoundError);
  });

  it("keys: create shows the key once, list hides it, rotate and revoke", async () => {
    // Prepare
    const { mgmt } = await platform();
    await mgmt.ensure(spec("embedding provision"));

    // Act
    const created = await mgmt.keys.create("billing", { name: "backend", rateLimitPerMinute: 60 });
    const listed = await mgmt.keys.list("billing");
    const rotated = await mgmt.keys.rotate("billing", created.id, { oldKeyExpiresInSeconds: 600 });
    const revoked = await mgmt.keys.revoke("billing", rotated.id);

    // Assess
    expect(created.key).toMatch(/^ik_live_/);
    expect(created).toMatchObject({ name: "backend", rateLimitPerMinute: 60, workload: "billing" });
    expect(listed).toHaveLength(1);
    expect(listed[0]).not.toHaveProperty("key");
    expect(rotated.key).toMatch(/^ik_live_/);
    expect(rotated.previous).toMatchObject({ id: created.id, rotatedTo: rotated.id });
    expect(rotated.previous.expiresAt).toBeDefined();
    expect(revoked.revokedAt).toBeDefined();
  });

  it("workers: register, get, list, pin a workload, deregister", async () => {
    // Prepare
    const { mgmt } = await platform();
    await mgmt.ensure(spec("cloud minimal"));

    // Act
    const worker = await mgmt.workers.register({ name: "gpu-box-1", labels: { gpu_kind: "a100" } });
    const pinned = await mgmt.ensure(withWorker(spec("text2text private fixed"), worker.id));
    const listed = await mgmt.workers.list();
    const one = await mgmt.workers.get(worker.id);
    const gone = await mgmt.workers.deregister(worker.id);

    // Assess
    expect(worker.id).toMatch(/^wrk_/);
    expect(worker.token).toMatch(/^ik_wrk_/);
    expect(pinned.workload.spec.worker_id).toBe(worker.id);
    expect(listed.map((w) => w.id)).toEqual([worker.id]);
    expect(one).toMatchObject({
      name: "gpu-box-1",
      labels: { gpu_kind: "a100" },
      tokenPrefix: "ik_wrk_",
      status: "offline",
      gpus: [],
    });
    expect(gone.state).toBe("draining");
  });

  it("maps an unknown token to AuthenticationError", async () => {
    // Prepare
    const { client } = await platform();
    const stranger = client("ik_sdk_notarealtoken");

    // Act
    const error = await stranger.get("anything").catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(AuthenticationError);
    expect(error).toMatchObject({ status: 401, code: "unauthorized" });
  });
});
