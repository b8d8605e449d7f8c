import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { fileURLToPath } from "node:url";
import { ConditionFailedError, ValidationError } from "@inferencekey/core";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { SqliteStore } from "../src/sqlite-store";

// The shared behaviour of every Store is in test/contract; this file covers what only a file on
// disk can get wrong: durability across kill -9, atomicity across processes, reopening.

const repoRoot = fileURLToPath(new URL("../../..", import.meta.url));
const storeModule = fileURLToPath(new URL("../src/sqlite-store.ts", import.meta.url));

let dir: string;
let path: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "ik-sqlite-"));
  path = join(dir, "store.db");
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** Runs an ESM script in a fresh Node process that can import the TypeScript store. */
function spawnScript(script: string, stdin: "ignore" | "pipe" = "ignore"): ChildProcess {
  return spawn(
    process.execPath,
    ["--disable-warning=ExperimentalWarning", "--import", "tsx", "--input-type=module", "-e", script],
    // cwd: `--import tsx` resolves from there.
    { cwd: repoRoot, stdio: [stdin, "pipe", "pipe"] },
  );
}

function exited(
  child: ChildProcess,
): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }> {
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk.toString("utf8");
  });
  return new Promise((resolve, reject) => {
    child.once("error", reject);
    child.once("close", (code, signal) => resolve({ code, signal, stderr }));
  });
}

describe("SqliteStore on disk", () => {
  it("keeps every acknowledged write when the writer is killed with SIGKILL mid-burst", async () => {
    // Prepare: a writer that creates items and bumps a counter, printing an ack after each write returns.
    const writer = spawnScript(`
      import { SqliteStore } from ${JSON.stringify(storeModule)};
      const store = new SqliteStore(${JSON.stringify(path)});
      await store.put({ pk: "counter", sk: "c", data: { n: 0 } }, { kind: "absent" });
      for (let i = 0; i < 1000000; i++) {
        const sk = "item#" + String(i).padStart(7, "0");
        await store.put({ pk: "burst", sk, data: { i, text: "payload ✓ " + i, list: [i, { nested: true }] } }, { kind: "absent" });
        process.stdout.write("item " + i + "\\n");
        const counter = await store.put({ pk: "counter", sk: "c", data: { n: i + 1 } }, { kind: "version", version: i + 1 });
        process.stdout.write("counter " + counter.version + "\\n");
      }
    `);
    const done = exited(writer);
    const ackedItems: number[] = [];
    let ackedCounterVersion = 0;
    let buffered = "";
    writer.stdout?.on("data", (chunk: Buffer) => {
      buffered += chunk.toString("utf8");
      const lines = buffered.split("\n");
      buffered = lines.pop() ?? "";
      for (const line of lines) {
        const [kind, value] = line.split(" ");
        if (kind === "item") ackedItems.push(Number(value));
        if (kind === "counter") ackedCounterVersion = Number(value);
      }
      // Kill while writes are in flight, not at a quiet moment.
      if (ackedItems.length >= 150 && !writer.killed) writer.kill("SIGKILL");
    });

    // Act
    const { signal, stderr } = await done;

    // Assess
    expect(signal, stderr).toBe("SIGKILL");
    expect(ackedItems.length).toBeGreaterThanOrEqual(150);
    const store = new SqliteStore(path);
    try {
      const stored = (await store.query({ pk: "burst" })).items;
      const byIndex = new Map(stored.map((item) => [item.data.i as number, item]));
      for (const i of ackedItems) {
        expect(byIndex.get(i)?.data, `acknowledged item ${i}`).toEqual({
          i,
          text: `payload ✓ ${i}`,
          list: [i, { nested: true }],
        });
      }
      // At most the one write in flight at the kill may have landed unacknowledged.
      expect(stored.length).toBeLessThanOrEqual(ackedItems.length + 1);
      const counter = await store.get("counter", "c");
      expect(counter?.version).toBeGreaterThanOrEqual(ackedCounterVersion);
      expect(counter?.data.n).toBe((counter?.version ?? 0) - 1);
    } finally {
      await store.close();
    }
    const check = new DatabaseSync(path);
    try {
      expect(check.prepare("PRAGMA integrity_check").get()).toEqual({ integrity_check: "ok" });
    } finally {
      check.close();
    }
  });

  it("keeps conditional writes atomic when two processes share the file", async () => {
    // Prepare
    const seed = new SqliteStore(path);
    await seed.put({ pk: "counter", sk: "c", data: { n: 0 } }, { kind: "absent" });
    await seed.close();
    const perProcess = 150;
    const incrementer = `
      import { ConditionFailedError } from "@inferencekey/core";
      import { SqliteStore } from ${JSON.stringify(storeModule)};
      const store = new SqliteStore(${JSON.stringify(path)});
      // Start together, so the two processes really race (node startup times differ).
      process.stdout.write("ready\\n");
      await new Promise((resolve) => process.stdin.once("data", resolve));
      process.stdin.destroy();
      let conflicts = 0;
      for (let done = 0; done < ${perProcess}; ) {
        const current = await store.get("counter", "c");
        // Yield so the other process can slip a write in between this read and the write below.
        await new Promise((resolve) => setImmediate(resolve));
        try {
          await store.put({ pk: "counter", sk: "c", data: { n: current.data.n + 1 } }, { kind: "version", version: current.version });
          done++;
        } catch (error) {
          if (!(error instanceof ConditionFailedError)) throw error;
          conflicts++;
        }
      }
      process.stdout.write("conflicts " + conflicts + "\\n");
    `;
    const children = [spawnScript(incrementer, "pipe"), spawnScript(incrementer, "pipe")];
    const readies: Promise<void>[] = [];
    const outputs = children.map((child) => {
      let out = "";
      readies.push(
        new Promise((resolve) => {
          child.stdout?.on("data", (chunk: Buffer) => {
            out += chunk.toString("utf8");
            if (out.includes("ready\n")) resolve();
          });
        }),
      );
      return exited(child).then((result) => ({ ...result, out }));
    });
    await Promise.race([Promise.all(readies), Promise.all(outputs)]);

    // Act
    for (const child of children) child.stdin?.end("go\n");
    const results = await Promise.all(outputs);

    // Assess
    for (const result of results) expect(result.code, result.stderr).toBe(0);
    const conflicts = results.map((result) => Number(/conflicts (\d+)/.exec(result.out)?.[1]));
    // Proof the processes raced: without conflicts the case would not exercise the lock.
    expect(conflicts[0]! + conflicts[1]!).toBeGreaterThan(0);
    const store = new SqliteStore(path);
    try {
      const counter = await store.get("counter", "c");
      expect(counter?.data.n).toBe(2 * perProcess);
      expect(counter?.version).toBe(2 * perProcess + 1);
    } finally {
      await store.close();
    }
  });

  it("sees a write made through another connection to the same file, conditions included", async () => {
    // Prepare
    const a = new SqliteStore(path);
    const b = new SqliteStore(path);
    await a.put({ pk: "p", sk: "s", data: { by: "a" } }, { kind: "absent" });

    // Act
    const read = await b.get("p", "s");
    await b.put({ pk: "p", sk: "s", data: { by: "b" } }, { kind: "version", version: 1 });
    const stale = a.put({ pk: "p", sk: "s", data: { by: "a again" } }, { kind: "version", version: 1 });

    // Assess
    expect(read?.data).toEqual({ by: "a" });
    await expect(stale).rejects.toBeInstanceOf(ConditionFailedError);
    expect((await a.get("p", "s"))?.data).toEqual({ by: "b" });
    await a.close();
    await b.close();
  });

  it("persists items across close and reopen, in WAL mode", async () => {
    // Prepare
    const first = new SqliteStore(path);
    await first.put(
      { pk: "p", sk: "s", gsi1pk: "g", gsi1sk: "k", expiresAt: 4102444800, data: { kept: true } },
      { kind: "absent" },
    );
    await first.close();
    await first.close();

    // Act
    const reopened = new SqliteStore(path);
    const item = await reopened.get("p", "s");
    await reopened.close();

    // Assess
    expect(item).toEqual({
      pk: "p",
      sk: "s",
      gsi1pk: "g",
      gsi1sk: "k",
      version: 1,
      expiresAt: 4102444800,
      data: { kept: true },
    });
    const check = new DatabaseSync(path);
    expect(check.prepare("PRAGMA journal_mode").get()).toEqual({ journal_mode: "wal" });
    check.close();
  });

  it("rejects a cursor it did not issue with a ValidationError naming the field", async () => {
    const store = new SqliteStore(path);

    const bad = [
      Buffer.from("not json").toString("base64url"),
      Buffer.from('["a"]').toString("base64url"),
      "%%%",
    ];

    for (const cursor of bad) {
      const error = await store.query({ pk: "p", cursor }).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(ValidationError);
      expect((error as ValidationError).details[0]?.path).toBe("cursor");
    }
    await store.close();
  });

  it("purges expired rows and only those", async () => {
    // Prepare
    let nowMs = 1_000_000_000_000;
    const store = new SqliteStore(path, { now: () => nowMs });
    await store.put({ pk: "p", sk: "old", expiresAt: 1_000_000_010, data: {} }, { kind: "absent" });
    await store.put({ pk: "p", sk: "new", expiresAt: 1_000_000_100, data: {} }, { kind: "absent" });
    await store.put({ pk: "p", sk: "forever", data: {} }, { kind: "absent" });
    nowMs = 1_000_000_050_000;

    // Act
    const purged = store.purgeExpired();

    // Assess
    expect(purged).toBe(1);
    nowMs = 1_000_000_000_000;
    expect((await store.query({ pk: "p" })).items.map((item) => item.sk)).toEqual(["forever", "new"]);
    await store.close();
  });
});
