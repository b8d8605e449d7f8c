import { describe, expect, it } from "vitest";
import { capacityWorld, cloudSpec } from "./world";

const A100 = { gpu_pool: ["NVIDIA A100-SXM4-80GB"] };

describe("shared cloud capacity through the real controller", () => {
  it("launches a node for a workload, places its replica on whole GPUs once the node is ready, and a second workload shares the node", async () => {
    const w = await capacityWorld();
    await w.ensure(cloudSpec("one", A100));
    await w.ensure(cloudSpec("two", A100));

    await w.tick();
    expect(w.provider.launches).toHaveLength(1);
    expect((await w.status("one")).conditions.find((c) => c.type === "Placed")).toMatchObject({ status: "False", reason: "AwaitingNode" });
    for (let i = 0; i < 8; i++) await w.tick();

    const one = await w.running("one");
    const two = await w.running("two");
    expect(one).toHaveLength(1);
    expect(two).toHaveLength(1);
    expect(one[0]?.node).toBe(two[0]?.node);
    expect(one[0]?.gpus).toEqual([0]);
    expect(two[0]?.gpus).toEqual([1]);
    expect(w.provider.launches).toHaveLength(1);
    const status = await w.status("one");
    expect(status.conditions.find((c) => c.type === "Placed")).toMatchObject({ status: "True", reason: "Placed" });
  });
});
