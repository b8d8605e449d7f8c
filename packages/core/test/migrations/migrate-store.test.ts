import { describe, expect, it } from "vitest";
import { type Migration, MemoryStore, migrateStore, type PlatformContext, SCHEMA_VERSION, SchemaTooNewError, schemaKey } from "../../src";

const context = (): PlatformContext => ({ store: new MemoryStore(() => 0), serverSecret: "s", now: () => new Date(0) });

/** Migrations that count their runs and write a marker item each. */
function counted(versions: number[]) {
  const runs: number[] = [];
  const migrations: Migration[] = versions.map((version) => ({
    version,
    description: `step ${version}`,
    run: async (ctx) => {
      runs.push(version);
      await ctx.store.put({ pk: "MARK", sk: String(version), data: {} }, { kind: "any" });
    },
  }));
  return { runs, migrations };
}

describe("migrateStore", () => {
  it("takes a store with no schema record (version 0) through every migration in order, once", async () => {
    // Prepare
    const ctx = context();
    const { runs, migrations } = counted([1, 2, 3]);

    // Act
    const first = await migrateStore(ctx, migrations);
    const second = await migrateStore(ctx, migrations);

    // Assess
    expect(first).toEqual({ from: 0, to: 3, applied: ["1: step 1", "2: step 2", "3: step 3"] });
    expect(second).toEqual({ from: 3, to: 3, applied: [] });
    expect(runs).toEqual([1, 2, 3]);
    expect((await ctx.store.get(schemaKey().pk, schemaKey().sk))?.data.version).toBe(3);
  });

  it("goes on from the recorded version when newer code adds migrations", async () => {
    // Prepare
    const ctx = context();
    await migrateStore(ctx, counted([1]).migrations);
    const { runs, migrations } = counted([1, 2]);

    // Act
    const report = await migrateStore(ctx, migrations);

    // Assess
    expect(report).toEqual({ from: 1, to: 2, applied: ["2: step 2"] });
    expect(runs).toEqual([2]);
  });

  it("two concurrent starts agree: each migration is recorded once and the store ends at the last version", async () => {
    // Prepare
    const ctx = context();
    const { migrations } = counted([1, 2, 3]);

    // Act
    const reports = await Promise.all([migrateStore(ctx, migrations), migrateStore(ctx, migrations)]);

    // Assess
    expect(reports.map((r) => r.to)).toEqual([3, 3]);
    expect(reports.flatMap((r) => r.applied).sort()).toEqual(["1: step 1", "2: step 2", "3: step 3"]);
    expect((await ctx.store.get(schemaKey().pk, schemaKey().sk))?.version).toBe(3);
  });

  it("refuses a store written by newer code, naming both versions", async () => {
    // Prepare
    const ctx = context();
    await ctx.store.put({ ...schemaKey(), data: { version: SCHEMA_VERSION + 1 } }, { kind: "absent" });

    // Act
    const attempt = migrateStore(ctx);

    // Assess
    await expect(attempt).rejects.toBeInstanceOf(SchemaTooNewError);
    await expect(attempt).rejects.toThrow(`schema version ${SCHEMA_VERSION + 1}, newer than this code's ${SCHEMA_VERSION}`);
  });

  it("a migration that fails leaves the version where it was, and the next start runs it again", async () => {
    // Prepare
    const ctx = context();
    let fail = true;
    const migrations: Migration[] = [
      { version: 1, description: "flaky", run: async () => {
        if (fail) throw new Error("disk on fire");
      } },
    ];

    // Act
    const failed = await migrateStore(ctx, migrations).catch((error: unknown) => error);
    fail = false;
    const retried = await migrateStore(ctx, migrations);

    // Assess
    expect(failed).toBeInstanceOf(Error);
    expect(retried).toEqual({ from: 0, to: 1, applied: ["1: flaky"] });
  });
});
