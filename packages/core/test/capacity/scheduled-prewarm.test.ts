import { describe, expect, it } from "vitest";
import { deleteWorkload } from "../../src";
import { capacityWorld } from "./world";

const llama = {
  model: "meta-llama/Llama-3.1-8B-Instruct",
  backend: "vllm",
  command: "vllm serve meta-llama/Llama-3.1-8B-Instruct --max-model-len 8192",
};

describe("scheduled windows on shared capacity (fake clock)", () => {
  it("launch ahead of the opening by the observed boot time, so the window serves from its opening minute", async () => {
    // Monday 06:00 UTC; nodes of this world take 7 minutes from launch to a registered agent.
    const w = await capacityWorld({ start: "2026-11-30T06:00:00Z", bootMs: 7 * 60_000, settings: { emptyNodeGraceMs: 5 * 60_000 } });

    // A first node of the type is seen booting (the observation), then goes away.
    await w.ensure({ name: "warm", slug: "warm", ...llama, execution_policy: "fixed", execution_policy_config: { replicas: 1 } });
    for (let i = 0; i < 20 && (await w.status("warm")).ready_replicas === 0; i++) await w.tick();
    expect((await w.status("warm")).ready_replicas).toBe(1);
    await deleteWorkload(w.ctx, w.admin, "acme", "warm");
    for (let i = 0; i < 20; i++) await w.tick();
    expect(w.provider.live()).toHaveLength(0);
    expect(w.provider.launches).toHaveLength(1);
    const observedMs = 7.5 * 60_000; // launched on one tick, registered on the first 30 s tick past 7 minutes

    // The window opens at 08:00 UTC.
    await w.ensure({ name: "day", slug: "day", ...llama, execution_policy: "scheduled", execution_policy_config: { window: "Mon-Fri 08:00-20:00 UTC" } });
    const opening = Date.parse("2026-11-30T08:00:00Z");
    let launchedAt: number | undefined;
    while (w.now() < opening - 30_000) {
      await w.tick();
      if (launchedAt === undefined && w.provider.launches.length === 2) launchedAt = w.now();
    }
    expect(launchedAt).toBeDefined();
    // Ahead by the observed boot, plus at most the minute between scans of scheduled workloads.
    expect(opening - (launchedAt as number)).toBeGreaterThanOrEqual(observedMs);
    expect(opening - (launchedAt as number)).toBeLessThanOrEqual(observedMs + 60_000 + 30_000);
    expect((await w.status("day")).ready_replicas).toBe(0);

    // The opening tick places the replica on the node that is already up: ready from the opening minute.
    await w.tick();
    expect(w.now()).toBe(opening);
    await w.tick();
    const status = await w.status("day");
    expect(status.ready_replicas).toBe(1);
    expect(w.provider.launches).toHaveLength(2);
  });
});
