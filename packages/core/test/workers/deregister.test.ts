import { describe, expect, it } from "vitest";
import {
  authenticateSdkToken,
  authenticateWorker,
  bootstrapAdminToken,
  ConflictError,
  createProject,
  deregisterWorker,
  ForbiddenError,
  MemoryStore,
  type PlatformContext,
  registerWorker,
  storeWorker,
  UnauthorizedError,
} from "../../src";

async function world() {
  const ctx: PlatformContext = { store: new MemoryStore(() => Date.parse("2030-01-01T00:00:00Z")), serverSecret: "s", now: () => new Date("2030-01-01T00:00:00Z") };
  const admin = await authenticateSdkToken(ctx, `Bearer ${(await bootstrapAdminToken(ctx))?.secret}`);
  await createProject(ctx, admin, { slug: "acme" });
  return { ctx, admin };
}

describe("issue 11.10: deregistering a worker revokes its token for good", () => {
  it("a replayed registration (same Idempotency-Key) is refused and the old token stays refused", async () => {
    // Prepare
    const { ctx, admin } = await world();
    const idempotency = { scope: "tok_x:POST /v1/projects/acme/workers", key: "box-1" };
    const first = await registerWorker(ctx, admin, "acme", { name: "box" }, idempotency);
    await expect(authenticateWorker(ctx, `Bearer ${first.token}`)).resolves.toMatchObject({ workerId: first.worker.id });

    // Act
    await deregisterWorker(ctx, admin, "acme", first.worker.id);
    const replay = registerWorker(ctx, admin, "acme", { name: "box" }, idempotency);

    // Assess
    await expect(replay).rejects.toBeInstanceOf(ConflictError);
    await expect(replay).rejects.toThrow(/deregistered/);
    await expect(authenticateWorker(ctx, `Bearer ${first.token}`)).rejects.toBeInstanceOf(UnauthorizedError);
    // A new key registers a new worker with a new token.
    const fresh = await registerWorker(ctx, admin, "acme", { name: "box" }, { ...idempotency, key: "box-1-again" });
    expect(fresh.worker.id).not.toBe(first.worker.id);
    expect(fresh.token).not.toBe(first.token);
  });

  it("a replay that raced the deregistration is undone: the worker does not come back", async () => {
    // Prepare: the replay writes its worker item just before deregistration's tombstone lands.
    const { ctx, admin } = await world();
    const idempotency = { scope: "tok_x:POST /v1/projects/acme/workers", key: "box-2" };
    const first = await registerWorker(ctx, admin, "acme", { name: "box" }, idempotency);
    await deregisterWorker(ctx, admin, "acme", first.worker.id);

    // Act: a registration arriving again with the worker's own token and id (as a stale retry would).
    const again = storeWorker(ctx, "acme", { name: "box" }, first.token, first.worker.id);

    // Assess
    await expect(again).rejects.toBeInstanceOf(ConflictError);
    await expect(authenticateWorker(ctx, `Bearer ${first.token}`)).rejects.toBeInstanceOf(UnauthorizedError);
  });

  it("the platform's own workers cannot be deregistered through the API", async () => {
    // Prepare
    const { ctx, admin } = await world();
    const { worker } = await storeWorker(ctx, "acme", { name: "this machine" }, "ik_wrk_" + "a".repeat(30), undefined, {});

    // Act + Assess
    await expect(deregisterWorker(ctx, admin, "acme", worker.id)).rejects.toBeInstanceOf(ForbiddenError);
  });
});
