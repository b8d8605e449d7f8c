import { describe, expect, it } from "vitest";
import {
  authenticateSdkToken,
  authenticateWorker,
  bootstrapAdminToken,
  createProject,
  deregisterWorker,
  ensureWorkload,
  ForbiddenError,
  getWorkloadRecord,
  heartbeat,
  listWorkloadReplicas,
  MemoryStore,
  type PlatformContext,
  reconcileAll,
  registerWorker,
  validateSpec,
  type WorkerRecord,
} from "@inferencekey/core";
import { LOCAL_WORKER_LABEL, LocalCompute, localCommandsAdmission, localWorkerToken } from "../src/local-compute";

async function world() {
  const ctx: PlatformContext = { store: new MemoryStore(() => Date.parse("2030-01-01T00:00:00Z")), serverSecret: "s", now: () => new Date("2030-01-01T00:00:00Z") };
  const admin = await authenticateSdkToken(ctx, `Bearer ${(await bootstrapAdminToken(ctx))?.secret}`);
  await createProject(ctx, admin, { slug: "acme" });
  await ensureWorkload(ctx, admin, "acme", { name: "Bot", slug: "bot", model: "org/model", backend: "vllm" });
  const started: { worker: WorkerRecord; token: string }[] = [];
  const compute = new LocalCompute({ hourlyPriceUsd: 0, ensureAgent: (_project, worker, token) => started.push({ worker, token }) });
  return { ctx, admin, compute, started };
}

describe("issue 11.8: the local worker is the platform's record, not a label", () => {
  it("a worker a user labelled inferencekey.local is neither placed on nor given the local worker's agent", async () => {
    // Prepare: a user registers a worker carrying the label the platform once matched on.
    const { ctx, admin, compute, started } = await world();
    const impostor = await registerWorker(ctx, admin, "acme", { name: "not this machine", labels: { [LOCAL_WORKER_LABEL]: "true" } });
    const workload = await getWorkloadRecord(ctx, admin, "acme", "bot");

    // Act
    const placement = await compute.placeCloudReplica(ctx, workload);
    await compute.restoreAgents(ctx);

    // Assess: placed on the platform's worker; every agent started is keyed by the worker its token authenticates as.
    expect("workerId" in placement && placement.workerId).not.toBe(impostor.worker.id);
    expect(started.length).toBeGreaterThan(0);
    for (const { worker, token } of started) {
      expect(worker.id).not.toBe(impostor.worker.id);
      expect((await authenticateWorker(ctx, `Bearer ${token}`)).workerId).toBe(worker.id);
      expect(worker.managed_by).toBe("platform");
    }
  });

  it("the local worker cannot be deregistered by a user", async () => {
    // Prepare
    const { ctx, admin, compute } = await world();
    const local = await compute.localWorker(ctx, "acme");

    // Act + Assess
    await expect(deregisterWorker(ctx, admin, "acme", local.id)).rejects.toBeInstanceOf(ForbiddenError);
    expect((await compute.localWorker(ctx, "acme")).id).toBe(local.id);
  });
});

describe("issue 11.5: INFERENCEKEY_LOCAL_COMMANDS decides who may run commands on this machine", () => {
  it("refuses project-scoped tokens cloud placement and the local worker, admits private workers, organisation tokens and `all`", async () => {
    // Prepare
    const { ctx, admin, compute } = await world();
    const projectToken = { tokenId: "tok_p", project: "acme", admin: false };
    const local = await compute.localWorker(ctx, "acme");
    const { worker: box } = await registerWorker(ctx, admin, "acme", { name: "gpu box" });
    const spec = (over: Record<string, unknown>) => validateSpec({ name: "Bot", slug: "bot", model: "org/model", backend: "vllm", ...over });
    const organisation = localCommandsAdmission("organisation");

    // Act + Assess
    expect(() => organisation(ctx, projectToken, "acme", spec({}))).toThrow(/INFERENCEKEY_LOCAL_COMMANDS=all/);
    expect(() => organisation(ctx, projectToken, "acme", spec({ worker_id: local.id }))).toThrow(ForbiddenError);
    expect(organisation(ctx, projectToken, "acme", spec({ worker_id: box.id }))).toBeUndefined();
    expect(organisation(ctx, admin, "acme", spec({}))).toBeUndefined();
    expect(localCommandsAdmission("all")(ctx, projectToken, "acme", spec({}))).toBeUndefined();
  });
});

describe("issue 11.7: ports are claimed per machine", () => {
  it("two projects' local workers never get the same port", async () => {
    // Prepare: a workload in each of two projects, both placed on this machine.
    const { ctx, admin, compute } = await world();
    await createProject(ctx, admin, { slug: "other" });
    await ensureWorkload(ctx, admin, "other", { name: "Bot", slug: "bot", model: "org/model", backend: "vllm" });
    for (const project of ["acme", "other"]) {
      const worker = await compute.localWorker(ctx, project);
      const token = localWorkerToken(ctx.serverSecret, project);
      await heartbeat(ctx, await authenticateWorker(ctx, `Bearer ${token}`), { host: { hostname: "here", advertise_host: "127.0.0.1", gpus: [] }, replicas: [] });
      expect(worker.machine).toBe("local");
    }

    // Act
    await reconcileAll(ctx, compute);

    // Assess
    const ports = await Promise.all(["acme", "other"].map(async (project) => (await listWorkloadReplicas(ctx, project, "bot")).map((r) => r.record.port)));
    expect(ports.flat()).toHaveLength(2);
    expect(new Set(ports.flat()).size).toBe(2);
  });
});
