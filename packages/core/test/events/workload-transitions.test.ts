import { describe, expect, it } from "vitest";
import { MemoryEventPublisher } from "../../src/events/lifecycle";
import { publishReconciledTransitions, publishWorkloadTransitions } from "../../src/events/workload-transitions";
import { FakeClock, TestPlatform } from "../gateway/support";

describe("publishWorkloadTransitions (a controller without memory between runs)", () => {
  it("publishes workload.scaled on a change of desired replicas and workload.ready on none -> ready, once each", async () => {
    // Prepare
    const clock = new FakeClock();
    const platform = new TestPlatform(clock.now);
    const events = new MemoryEventPublisher();
    const observe = (desired: number, readyReplicas: number) =>
      publishWorkloadTransitions(platform.ctx, events, { project: "acme", workload: "ranker", incarnation: "inc_1", desired, readyReplicas });

    // Act: first sight at zero, a job asks for one, it boots, stays, goes back to zero.
    const seen = [await observe(0, 0), await observe(0, 0), await observe(1, 0), await observe(1, 0), await observe(1, 1), await observe(1, 1), await observe(0, 0)];

    // Assess
    expect(seen.map((published) => published.map((e) => e.type))).toEqual([[], [], ["workload.scaled"], [], ["workload.ready"], [], ["workload.scaled"]]);
    expect(events.events).toEqual([
      { type: "workload.scaled", project: "acme", workload: "ranker", from: 0, to: 1, at: clock.now().toISOString() },
      { type: "workload.ready", project: "acme", workload: "ranker", ready_replicas: 1, at: clock.now().toISOString() },
      { type: "workload.scaled", project: "acme", workload: "ranker", from: 1, to: 0, at: clock.now().toISOString() },
    ]);
  });

  it("two controllers observing the same change at once publish it once", async () => {
    // Prepare
    const platform = new TestPlatform();
    const events = new MemoryEventPublisher();
    const observed = { project: "acme", workload: "ranker", incarnation: "inc_1", readyReplicas: 0 };
    await publishWorkloadTransitions(platform.ctx, events, { ...observed, desired: 0 });

    // Act
    await Promise.all([publishWorkloadTransitions(platform.ctx, events, { ...observed, desired: 2 }), publishWorkloadTransitions(platform.ctx, events, { ...observed, desired: 2 })]);

    // Assess
    expect(events.events.map((e) => e.type)).toEqual(["workload.scaled"]);
  });

  it("the tick's pass counts ready replicas, skips skipped outcomes and deleted workloads", async () => {
    // Prepare
    const platform = new TestPlatform();
    await platform.workload("acme", { slug: "ranker", task_type: "reranker" });
    await platform.workload("acme", { slug: "gone", task_type: "reranker" });
    await platform.remove("acme", "gone");
    const events = new MemoryEventPublisher();
    await platform.replica("acme", "ranker", { port: 1 });

    // Act
    const published = await publishReconciledTransitions(platform.ctx, events, [
      { project: "acme", workload: "ranker", desired: 1 },
      { project: "acme", workload: "ranker", desired: 3, skipped: true },
      { project: "acme", workload: "gone", desired: 1 },
    ]);
    const again = await publishReconciledTransitions(platform.ctx, events, [{ project: "acme", workload: "ranker", desired: 1 }]);

    // Assess
    expect(published).toBe(1);
    expect(again).toBe(0);
    expect(events.events).toEqual([{ type: "workload.ready", project: "acme", workload: "ranker", ready_replicas: 1, at: expect.any(String) }]);
  });
});
