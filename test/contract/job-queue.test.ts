import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MemoryJobQueue, type QueueMessage, type ReceivingJobQueue } from "@inferencekey/core";
import { SqliteJobQueue } from "@inferencekey/local";
import { describe, expect, it } from "vitest";

/**
 * The JobQueue port's contract, run on every receiving adapter (the SQS adapter runs the send side
 * against moto in packages/aws): at-least-once delivery with SQS's visibility, receive counts and
 * delays. A settable clock drives visibility.
 */
const message = (id: string): QueueMessage => ({ version: 1, type: "job", job_id: `job_${id}`, project: "acme", workload: "ranker" });

const adapters: { name: string; make: (now: () => number) => ReceivingJobQueue }[] = [
  { name: "memory", make: (now) => new MemoryJobQueue(now) },
  { name: "sqlite", make: (now) => new SqliteJobQueue(join(mkdtempSync(join(tmpdir(), "ik-queue-")), "q.db"), { now }) },
];

describe.each(adapters)("JobQueue contract: $name", ({ make }) => {
  function setup() {
    let at = 1_000_000;
    const queue = make(() => at);
    return { queue, advance: (ms: number) => (at += ms) };
  }

  it("a received message is hidden for its visibility timeout, then comes back with a higher receive count", async () => {
    // Prepare
    const { queue, advance } = setup();
    await queue.send(message("a000"));

    // Act
    const first = await queue.receive({ max: 10, visibilitySeconds: 30 });
    const hidden = await queue.receive({ max: 10, visibilitySeconds: 30 });
    advance(30_001);
    const again = await queue.receive({ max: 10, visibilitySeconds: 30 });

    // Assess
    expect(first.map((m) => [JSON.parse(m.body).job_id, m.receiveCount])).toEqual([["job_a000", 1]]);
    expect(hidden).toEqual([]);
    expect(again.map((m) => m.receiveCount)).toEqual([2]);
  });

  it("deleting settles a message; release makes it visible again after the delay; a stale receipt does nothing", async () => {
    // Prepare
    const { queue, advance } = setup();
    await queue.send(message("a000"));
    await queue.send(message("b000"));
    const [a, b] = await queue.receive({ max: 10, visibilitySeconds: 60 });

    // Act
    await queue.delete(a?.receipt ?? "");
    await queue.release(b?.receipt ?? "", 5);
    const early = await queue.receive({ max: 10, visibilitySeconds: 60 });
    advance(5_001);
    const [b2] = await queue.receive({ max: 10, visibilitySeconds: 60 });
    await queue.delete(b?.receipt ?? "");
    const depth = await queue.depth();

    // Assess
    expect(early).toEqual([]);
    expect(JSON.parse(b2?.body ?? "{}").job_id).toBe("job_b000");
    expect(depth).toBe(1);
  });

  it("honours delaySeconds and max, oldest first", async () => {
    // Prepare
    const { queue, advance } = setup();
    await queue.send(message("late"), { delaySeconds: 10 });
    for (const id of ["x001", "x002", "x003"]) await queue.send(message(id));

    // Act
    const two = await queue.receive({ max: 2, visibilitySeconds: 60 });
    const one = await queue.receive({ max: 5, visibilitySeconds: 60 });
    advance(10_001);
    const delayed = await queue.receive({ max: 5, visibilitySeconds: 60 });

    // Assess
    expect(two.map((m) => JSON.parse(m.body).job_id)).toEqual(["job_x001", "job_x002"]);
    expect(one.map((m) => JSON.parse(m.body).job_id)).toEqual(["job_x003"]);
    expect(delayed.map((m) => JSON.parse(m.body).job_id)).toEqual(["job_late"]);
  });
});

describe("SqliteJobQueue", () => {
  it("keeps messages across a reopen (durable) and moves one received maxReceives times to the dead letters", async () => {
    // Prepare
    const path = join(mkdtempSync(join(tmpdir(), "ik-queue-")), "q.db");
    let at = 0;
    const first = new SqliteJobQueue(path, { now: () => at, maxReceives: 2 });
    await first.send(message("dura"));
    first.close();

    // Act
    const reopened = new SqliteJobQueue(path, { now: () => at, maxReceives: 2 });
    const counts: number[] = [];
    for (let i = 0; i < 3; i++) {
      counts.push(...(await reopened.receive({ max: 1, visibilitySeconds: 1 })).map((m) => m.receiveCount));
      at += 1_001;
    }

    // Assess
    expect(counts).toEqual([1, 2]);
    expect(await reopened.depth()).toBe(0);
    expect(reopened.deadLetters().map((d) => [JSON.parse(d.body).job_id, d.receiveCount])).toEqual([["job_dura", 2]]);
    reopened.close();
  });
});
