import { describe, expect, it } from "vitest";
import {
  authenticateSdkToken,
  bootstrapAdminToken,
  type Compute,
  createProject,
  ensureWorkload,
  failedRetryDelayMs,
  getWorkload,
  heartbeat,
  listWorkerReplicas,
  listWorkloadReplicas,
  MemoryStore,
  type PlatformContext,
  reconcileAll,
  type ReplicaRecord,
  registerWorker,
} from "../../src";

type Report = "failed" | "ready" | "starting";

/** A platform on a fake clock whose agents are simulated: each worker reports what the test says. */
async function world(workerNames: string[]) {
  let clock = Date.parse("2026-03-02T10:00:00Z");
  const ctx: PlatformContext = { store: new MemoryStore(() => clock), serverSecret: "s", now: () => new Date(clock) };
  const admin = await authenticateSdkToken(ctx, `Bearer ${(await bootstrapAdminToken(ctx))?.secret}`);
  await createProject(ctx, admin, { slug: "acme" });
  const workers: Awaited<ReturnType<typeof registerWorker>>["worker"][] = [];
  for (const name of workerNames) workers.push((await registerWorker(ctx, admin, "acme", { name, addresses: ["127.0.0.1"] })).worker);
  const first = workers[0]?.id as string;
  const compute: Compute = { placeCloudReplica: async () => ({ workerId: first, hourlyPriceUsd: 0 }) };
  /** What each worker's agent reports for every replica it runs; returns the assigned ids per worker. */
  const beat = async (state: Report, reason = "exited with code 127 (command not found): sh: 1: vllm: not found") => {
    const assigned: Record<string, string[]> = {};
    for (const worker of workers) {
      const placed = (await listWorkerReplicas(ctx, worker.id)).map((r) => r.record);
      const answer = await heartbeat(ctx, { project: "acme", workerId: worker.id }, {
        host: { hostname: worker.name, advertise_host: "127.0.0.1", gpus: [] },
        replicas: placed.map((r) => ({
          replica_id: r.id,
          port: r.port,
          restarts: 0,
          state,
          ...(state === "failed" ? { reason, exit_code: 127 } : {}),
        })),
      });
      assigned[worker.id] = answer.assignments.map((a) => a.replica_id);
    }
    return assigned;
  };
  const tick = () => reconcileAll(ctx, compute);
  await beat("starting"); // the workers are online before anything is placed
  const slot0 = async (): Promise<ReplicaRecord> => {
    const found = (await listWorkloadReplicas(ctx, "acme", "bot")).map((r) => r.record);
    expect(found).toHaveLength(1);
    return found[0] as ReplicaRecord;
  };
  return {
    ctx,
    admin,
    workers,
    beat,
    tick,
    slot0,
    advance: (seconds: number) => {
      clock += seconds * 1000;
    },
    iso: (offsetSeconds = 0) => new Date(clock + offsetSeconds * 1000).toISOString(),
  };
}

const spec = { name: "Bot", slug: "bot", model: "m/m", backend: "vllm", command: "vllm serve m/m" };

describe("failed replicas are retried by the controller", () => {
  it("backs off 30 s doubling to a 30 min cap", () => {
    expect([1, 2, 3, 4, 5, 6, 7, 20].map((n) => failedRetryDelayMs(n) / 1000)).toEqual([30, 60, 120, 240, 480, 960, 1800, 1800]);
  });

  it("schedules the retry when it sees the failure, shows next_retry_at, and replaces the replica when it is due", async () => {
    // Prepare: one fixed replica whose backend cannot start.
    const w = await world(["box"]);
    await ensureWorkload(w.ctx, w.admin, "acme", spec);
    await w.tick();
    await w.beat("failed");
    const failed = await w.slot0();

    // Act: the controller sees the failure.
    await w.tick();

    // Assess: the retry is scheduled 30 s out and status says when.
    const due = w.iso(30);
    expect((await w.slot0()).next_retry_at).toBe(due);
    const view = await getWorkload(w.ctx, w.admin, "acme", "bot");
    expect(view.status.next_retry_at).toBe(due);
    expect(view.status.replicas[0]).toMatchObject({ phase: "failed", next_retry_at: due, reason: expect.stringContaining("vllm: not found") });
    expect(view.status.conditions[1]?.message).toContain(`retrying at ${due}`);

    // Act + Assess: not before it is due.
    w.advance(29);
    await w.beat("failed");
    await w.tick();
    expect((await w.slot0()).id).toBe(failed.id);

    // Act: due.
    w.advance(1);
    await w.tick();

    // Assess: a new attempt with its own id, on another port; the agent is told to drop the old one.
    const retried = await w.slot0();
    expect(retried).toMatchObject({ phase: "pending", attempt: 1, failures_in_a_row: 1, slot: 0, generation: failed.generation });
    expect(retried.id).not.toBe(failed.id);
    expect(retried.port).not.toBe(failed.port);
    expect(retried.next_retry_at).toBeUndefined();
    const assigned = await w.beat("failed");
    expect(assigned[w.workers[0]?.id as string]).toEqual([retried.id]);
  });

  it("a late report about the replaced replica does not touch the new attempt", async () => {
    // Prepare: a failed replica replaced by its retry.
    const w = await world(["box"]);
    await ensureWorkload(w.ctx, w.admin, "acme", spec);
    await w.tick();
    await w.beat("failed");
    const failed = await w.slot0();
    await w.tick();
    w.advance(30);
    await w.beat("failed");
    await w.tick();

    // Act: the agent reports the old replica failed once more (its heartbeat raced the retry).
    await heartbeat(w.ctx, { project: "acme", workerId: w.workers[0]?.id as string }, {
      host: { hostname: "box", advertise_host: "127.0.0.1", gpus: [] },
      replicas: [{ replica_id: failed.id, port: failed.port, restarts: 0, state: "failed", reason: "old news" }],
    });

    // Assess
    expect(await w.slot0()).toMatchObject({ phase: "pending", attempt: 1 });
  });

  it("waits longer after each failure in a row, and starts over once the slot was ready", async () => {
    // Prepare
    const w = await world(["box"]);
    await ensureWorkload(w.ctx, w.admin, "acme", spec);
    await w.tick();

    // Act + Assess: fail, retry, fail again: 30 s then 60 s.
    await w.beat("failed");
    await w.tick();
    expect((await w.slot0()).next_retry_at).toBe(w.iso(30));
    w.advance(30);
    await w.beat("failed");
    await w.tick();
    await w.beat("failed");
    await w.tick();
    expect(await w.slot0()).toMatchObject({ attempt: 1, failures_in_a_row: 2, next_retry_at: w.iso(60) });

    // Act + Assess: the next attempt serves, then fails: back to 30 s.
    w.advance(60);
    await w.beat("failed");
    await w.tick();
    await w.beat("ready");
    w.advance(3600);
    await w.beat("failed");
    await w.tick();
    expect(await w.slot0()).toMatchObject({ attempt: 2, failures_in_a_row: 1, next_retry_at: w.iso(30) });
  });

  it("retries on another worker when one is free (the cause may be local to the box)", async () => {
    // Prepare: a private autoscaling workload over two workers, one replica wanted.
    const w = await world(["box-a", "box-b"]);
    const ids = w.workers.map((x) => x.id);
    await ensureWorkload(w.ctx, w.admin, "acme", {
      ...spec,
      execution_policy: "autoscaling",
      execution_policy_config: { min_workers: 1, max_workers: 1, workers: { source: "private", private_worker_ids: ids } },
    });
    await w.tick();
    const first = await w.slot0();

    // Act
    await w.beat("failed");
    await w.tick();
    w.advance(30);
    await w.beat("failed");
    await w.tick();

    // Assess
    const retried = await w.slot0();
    expect(retried.attempt).toBe(1);
    expect(retried.worker_id).not.toBe(first.worker_id);
    expect(ids).toContain(retried.worker_id);
  });
});
