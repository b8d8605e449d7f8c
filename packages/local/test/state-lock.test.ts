import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { StateDirLock, StateDirLockedError } from "../src/state-lock";

const freshDir = () => mkdtempSync(join(tmpdir(), "ik-lock-"));
const at = () => new Date("2026-06-01T10:00:00Z");

describe("StateDirLock", () => {
  it("a second holder is refused with the first one's pid and URL; released, the directory can be taken again", async () => {
    // Prepare
    const dir = freshDir();
    const first = await StateDirLock.acquire(dir, at);
    first.serving("http://127.0.0.1:8787");

    // Act
    const refused = await StateDirLock.acquire(dir, at).then(
      () => undefined,
      (error: unknown) => error,
    );
    first.release();
    const next = await StateDirLock.acquire(dir, at);

    // Assess
    expect(refused).toBeInstanceOf(StateDirLockedError);
    expect((refused as StateDirLockedError).holder).toEqual({ pid: process.pid, started_at: "2026-06-01T10:00:00.000Z", url: "http://127.0.0.1:8787" });
    expect((refused as Error).message).toContain(`in use by process ${process.pid}`);
    next.release();
    expect(existsSync(join(dir, "lock-holder.json"))).toBe(false);
  });

  it("a holder record left by a dead process does not block: the lock is free, and the record is replaced", async () => {
    // Prepare: a record naming a process that has exited (as after kill -9).
    const dir = freshDir();
    const dead = spawnSync(process.execPath, ["-e", "0"]).pid;
    writeFileSync(join(dir, "lock-holder.json"), JSON.stringify({ pid: dead, started_at: "2026-05-01T00:00:00.000Z" }));

    // Act
    const lock = await StateDirLock.acquire(dir, at);

    // Assess
    expect(JSON.parse(readFileSync(join(dir, "lock-holder.json"), "utf8"))).toEqual({ pid: process.pid, started_at: "2026-06-01T10:00:00.000Z" });
    lock.release();
  });
});
