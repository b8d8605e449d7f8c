import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type RecordedProcess, readState, STATE_FILE_NAME, StateFile } from "../src";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "ik-state-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const record = (pid: number): RecordedProcess => ({
  replica_id: `rep_${pid}`,
  pid,
  pgid: pid,
  port: 8000 + pid,
  started_at: "2026-11-27T10:00:00.000Z",
  command_hash: "abc",
  proc_start_time: "12345",
});

describe("state file", () => {
  it("writes replicas.json and reads it back", async () => {
    // Act
    await new StateFile(dir).write([record(11), record(12)]);
    // Assess
    expect(await readState(dir)).toEqual({ replicas: [record(11), record(12)] });
    expect(readdirSync(dir)).toEqual([STATE_FILE_NAME]);
  });

  it("folds writes asked for while one runs; the last content wins", async () => {
    const file = new StateFile(dir);
    await Promise.all([file.write([record(1)]), file.write([record(2)]), file.write([record(3)])]);
    expect((await readState(dir)).replicas).toEqual([record(3)]);
    await file.write([]);
    expect(JSON.parse(readFileSync(join(dir, STATE_FILE_NAME), "utf8"))).toEqual({
      version: 1,
      replicas: [],
    });
  });

  it("a missing file is no replica; a corrupt one is none plus a problem to log", async () => {
    expect(await readState(join(dir, "absent"))).toEqual({ replicas: [] });
    writeFileSync(join(dir, STATE_FILE_NAME), "{ not json");
    expect(await readState(dir)).toMatchObject({
      replicas: [],
      problem: expect.stringContaining("is not valid JSON"),
    });
  });

  it("skips malformed entries and says so", async () => {
    writeFileSync(
      join(dir, STATE_FILE_NAME),
      JSON.stringify({ version: 1, replicas: [record(5), { pid: "x" }] }),
    );
    expect(await readState(dir)).toEqual({
      replicas: [record(5)],
      problem: expect.stringContaining("skipped 1 malformed entries"),
    });
  });
});
