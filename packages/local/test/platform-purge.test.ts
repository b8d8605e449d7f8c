import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { describe, expect, it } from "vitest";
import { startLocalPlatform } from "../src/platform";

describe("local platform: expired items", () => {
  it("are deleted from the SQLite file periodically, not only hidden from reads", async () => {
    // Prepare: a fake clock, and 50 items that expire in a minute beside one that never does.
    let clock = Date.parse("2031-05-06T07:08:09Z");
    const dir = mkdtempSync(join(tmpdir(), "ik-purge-"));
    const lines: string[] = [];
    const platform = await startLocalPlatform({
      dir,
      port: 0,
      now: () => new Date(clock),
      runLocalWorker: false,
      tickMs: 3_600_000,
      purgeEveryMs: 50,
      log: (line) => lines.push(line),
    });
    const expiresAt = Math.floor(clock / 1000) + 60;
    for (let i = 0; i < 50; i++) await platform.ctx.store.put({ pk: "TEST#purge", sk: `e${i}`, expiresAt, data: {} }, { kind: "absent" });
    await platform.ctx.store.put({ pk: "TEST#purge", sk: "kept", data: {} }, { kind: "absent" });
    const rows = () => {
      const db = new DatabaseSync(join(dir, "store.db"), { readOnly: true });
      try {
        return Number((db.prepare("SELECT count(*) AS n FROM items WHERE pk = 'TEST#purge'").get() as { n: number }).n);
      } finally {
        db.close();
      }
    };
    expect(rows()).toBe(51);

    // Act: the clock passes the expiry; the next purges run.
    clock += 61_000;
    await new Promise((resolve) => setTimeout(resolve, 300));

    // Assess
    try {
      expect(rows()).toBe(1);
      expect(lines.some((line) => /^store: purged \d+ expired items$/.test(line))).toBe(true);
    } finally {
      await platform.close();
    }
  });
});
