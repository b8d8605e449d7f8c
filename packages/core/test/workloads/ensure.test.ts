import { describe, expect, it } from "vitest";
import {
  authenticateSdkToken,
  bootstrapAdminToken,
  createToken,
  deleteWorkload,
  DriftError,
  ensureWorkload,
  getWorkload,
  listWorkloads,
  MemoryStore,
  NotFoundError,
  type PlatformContext,
  type Principal,
  registerWorker,
  ValidationError,
} from "../../src";

const spec = {
  name: "Support bot",
  slug: "support-bot",
  model: "meta-llama/Llama-3.1-8B-Instruct",
  backend: "vllm",
  command: "vllm serve meta-llama/Llama-3.1-8B-Instruct --max-model-len 8192",
};

async function setup(): Promise<{ ctx: PlatformContext; admin: Principal }> {
  const ctx: PlatformContext = { store: new MemoryStore(), serverSecret: "test-secret", now: () => new Date("2026-11-27T10:00:00Z") };
  const created = await bootstrapAdminToken(ctx);
  const admin = await authenticateSdkToken(ctx, `Bearer ${created?.secret}`);
  return { ctx, admin };
}

describe("ensureWorkload", () => {
  it("creates the workload and its project on the first call by an organisation token", async () => {
    // Prepare
    const { ctx, admin } = await setup();

    // Act
    const result = await ensureWorkload(ctx, admin, "acme", spec);

    // Assess
    expect(result).toMatchObject({ project_slug: "acme", workload_slug: "support-bot", generation: 1, changed: true, created: true });
    expect(result.workload.status.desired_replicas).toBe(1);
    expect(result.workload.status.events[0]?.type).toBe("Created");
  });

  it("the same spec again changes nothing and says so", async () => {
    const { ctx, admin } = await setup();
    await ensureWorkload(ctx, admin, "acme", spec);

    const again = await ensureWorkload(ctx, admin, "acme", { ...spec, task_type: "text2text", execution_policy: "fixed" });

    expect(again).toMatchObject({ generation: 1, changed: false, created: false, differences: [] });
  });

  it("reconcile updates in place and bumps the generation; a name change does not roll replicas", async () => {
    const { ctx, admin } = await setup();
    await ensureWorkload(ctx, admin, "acme", spec);

    const renamed = await ensureWorkload(ctx, admin, "acme", { ...spec, name: "Renamed" });
    const scaled = await ensureWorkload(ctx, admin, "acme", { ...spec, name: "Renamed", execution_policy_config: { replicas: 2 } });

    expect(renamed).toMatchObject({ generation: 2, changed: true });
    expect(renamed.workload.status.events[0]?.message).toContain("no restart needed");
    expect(scaled).toMatchObject({ generation: 3, changed: true });
    expect(scaled.workload.status.events[0]?.message).toContain("replicas roll");
  });

  it("fail answers 409 with the field-level diff and changes nothing", async () => {
    const { ctx, admin } = await setup();
    await ensureWorkload(ctx, admin, "acme", spec);

    const attempt = ensureWorkload(ctx, admin, "acme", { ...spec, model: "other/model" }, "fail");

    await expect(attempt).rejects.toBeInstanceOf(DriftError);
    await expect(attempt).rejects.toMatchObject({ status: 409, details: [{ path: "model", received: "other/model" }] });
    expect((await getWorkload(ctx, admin, "acme", "support-bot")).generation).toBe(1);
  });

  it("a drift detail writes the stored and the requested value alike (a string is itself, not its JSON)", async () => {
    // Prepare
    const { ctx, admin } = await setup();
    await ensureWorkload(ctx, admin, "acme", { ...spec, execution_policy: "fixed", execution_policy_config: { replicas: 1 } });

    // Act
    const error = await ensureWorkload(
      ctx,
      admin,
      "acme",
      { ...spec, model: "other/model", execution_policy: "fixed", execution_policy_config: { replicas: 2 } },
      "fail",
    ).catch((e: unknown) => e);

    // Assess
    const details = [...(error as DriftError).details].sort((a, b) => a.path.localeCompare(b.path));
    expect(details).toEqual([
      { path: "execution_policy_config.replicas", message: "stored 1, requested 2", received: 2, expected: "1" },
      { path: "model", message: `stored "${spec.model}", requested "other/model"`, received: "other/model", expected: spec.model },
    ]);
  });

  it("ignore returns the stored workload untouched with the differences", async () => {
    const { ctx, admin } = await setup();
    await ensureWorkload(ctx, admin, "acme", spec);

    const ignored = await ensureWorkload(ctx, admin, "acme", { ...spec, model: "other/model" }, "ignore");

    expect(ignored).toMatchObject({ generation: 1, changed: false, differences: [{ path: "model", to: "other/model" }] });
    expect(ignored.workload.spec.model).toBe(spec.model);
  });

  it("20 concurrent ensures of one slug with two specs converge; the generation counts the applied changes", async () => {
    // Prepare
    const { ctx, admin } = await setup();
    const specs = [spec, { ...spec, execution_policy_config: { replicas: 2 } }];

    // Act
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => ensureWorkload(ctx, admin, "acme", specs[i % 2])),
    );

    // Assess
    const applied = results.filter((r) => r.changed).length;
    const final = await getWorkload(ctx, admin, "acme", "support-bot");
    expect(final.generation).toBe(applied);
    expect((await listWorkloads(ctx, admin, "acme", {})).data).toHaveLength(1);
  });

  it("rejects a worker_id that names no worker of the project, and accepts a registered one", async () => {
    const { ctx, admin } = await setup();
    await ensureWorkload(ctx, admin, "acme", spec);
    const { worker } = await registerWorker(ctx, admin, "acme", { name: "gpu-box" });

    const missing = ensureWorkload(ctx, admin, "acme", { ...spec, worker_id: "wrk_doesnotexist" });
    const pinned = await ensureWorkload(ctx, admin, "acme", { ...spec, worker_id: worker.id });

    await expect(missing).rejects.toBeInstanceOf(ValidationError);
    await expect(missing).rejects.toMatchObject({ details: [{ path: "worker_id", received: "wrk_doesnotexist" }] });
    expect(pinned.workload.spec.worker_id).toBe(worker.id);
  });

  it("delete hides the workload; a later ensure re-creates it with a new generation", async () => {
    const { ctx, admin } = await setup();
    await ensureWorkload(ctx, admin, "acme", spec);

    await deleteWorkload(ctx, admin, "acme", "support-bot");
    await expect(getWorkload(ctx, admin, "acme", "support-bot")).rejects.toBeInstanceOf(NotFoundError);
    const recreated = await ensureWorkload(ctx, admin, "acme", spec);

    expect(recreated).toMatchObject({ created: true, generation: 2 });
  });

  it("a project-scoped token cannot see or create anything in another project", async () => {
    const { ctx, admin } = await setup();
    await ensureWorkload(ctx, admin, "acme", spec);
    await ensureWorkload(ctx, admin, "globex", spec);
    const token = await createToken(ctx, admin, { name: "acme only", project: "acme" });
    const scoped = await authenticateSdkToken(ctx, `Bearer ${token.secret}`);

    await expect(getWorkload(ctx, scoped, "globex", "support-bot")).rejects.toBeInstanceOf(NotFoundError);
    await expect(ensureWorkload(ctx, scoped, "initech", spec)).rejects.toBeInstanceOf(NotFoundError);
    expect((await getWorkload(ctx, scoped, "acme", "support-bot")).slug).toBe("support-bot");
  });
});
