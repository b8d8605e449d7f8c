import { describe, expect, it } from "vitest";
import { deleteWorkload, listProjectWorkers, reconcileAll, readUsage } from "../../src";
import { capacityWorld, cloudSpec } from "./world";

const A100 = { gpu_pool: ["NVIDIA A100-SXM4-80GB"] };
const MINUTE = 60;

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
    expect(status.conditions.find((c) => c.type === "Placed")?.message).toContain("1 GPU(s) of p4de.24xlarge");
  });

  it("overlapping ticks launch no duplicate node", async () => {
    const w = await capacityWorld();
    await w.ensure(cloudSpec("one", A100, { min_workers: 2 }));
    await w.tick();
    // Three controllers tick at the same moment (a slow Lambda overlapping the next, a local poke).
    await Promise.all([reconcileAll(w.ctx, w.compute), reconcileAll(w.ctx, w.compute), reconcileAll(w.ctx, w.compute)]);
    for (let i = 0; i < 3; i++) await Promise.all([w.tick(), reconcileAll(w.ctx, w.compute)]);
    expect(w.provider.live()).toHaveLength(1);
    expect(await w.nodes()).toHaveLength(1);
    expect(new Set(w.provider.launches.map((l) => `${l.nodeId}:${l.attempt}`)).size).toBe(1);
  });

  it("a lost launch response leaks nothing: the retry with the same attempt (same ClientToken) finds the instance", async () => {
    const w = await capacityWorld();
    w.provider.loseLaunchResponses = 1;
    await w.ensure(cloudSpec("one", A100));
    await w.tick();
    expect(w.provider.live()).toHaveLength(1);
    expect((await w.nodes())[0]).toMatchObject({ state: "launching", last_error: expect.stringContaining("lost") });
    for (let i = 0; i < 8; i++) await w.tick();

    expect(w.provider.live()).toHaveLength(1);
    const [node] = await w.nodes();
    expect(node?.instance_id).toBe(w.provider.live()[0]?.instanceId);
    expect(new Set(w.provider.launches.map((l) => l.attempt))).toEqual(new Set([1]));
    expect(await w.running("one")).toHaveLength(1);
  });

  it("a capacity error falls back to another zone with no hot loop, and marks the offering unavailable for a while", async () => {
    const w = await capacityWorld();
    w.provider.unavailable.add("p4de.24xlarge@us-east-1a");
    await w.ensure(cloudSpec("one", A100));
    await w.tick();
    // One call per tick: the failed offering, then (next tick, as a new recorded attempt) the other zone.
    expect(w.provider.launches.map((l) => `${l.availabilityZone}#${l.attempt}`)).toEqual(["us-east-1a#1"]);
    await w.tick();
    expect(w.provider.launches.map((l) => `${l.availabilityZone}#${l.attempt}`)).toEqual(["us-east-1a#1", "us-east-1b#2"]);
    for (let i = 0; i < 8; i++) await w.tick();
    expect(w.provider.launches).toHaveLength(2);
    expect(await w.running("one")).toHaveLength(1);

    // Every zone out of capacity: no launch loop, the workload says InsufficientCapacity.
    const x = await capacityWorld();
    x.provider.unavailable.add("p4de.24xlarge@us-east-1a");
    x.provider.unavailable.add("p4de.24xlarge@us-east-1b");
    await x.ensure(cloudSpec("one", A100));
    for (let i = 0; i < 20; i++) await x.tick();
    expect(x.provider.launches.length).toBeLessThanOrEqual(2);
    expect((await x.status("one")).conditions.find((c) => c.type === "Placed")).toMatchObject({
      status: "False",
      reason: "InsufficientCapacity",
      message: expect.stringContaining("InsufficientInstanceCapacity"),
    });
  });

  it("a quota error makes the workload QuotaExceeded, naming the quota, and is not retried in a loop", async () => {
    const w = await capacityWorld();
    w.provider.quotaExceeded.add("p4de.24xlarge");
    await w.ensure(cloudSpec("one", A100));
    for (let i = 0; i < 10; i++) await w.tick();
    expect(w.provider.launches).toHaveLength(1);
    expect((await w.status("one")).conditions.find((c) => c.type === "Placed")).toMatchObject({
      status: "False",
      reason: "QuotaExceeded",
      message: expect.stringContaining('quota "Running On-Demand P instances"'),
    });
    expect(w.provider.live()).toHaveLength(0);
  });

  it("a node that never becomes ready is terminated after the timeout and replaced", async () => {
    const w = await capacityWorld({ settings: { nodeReadyTimeoutMs: 20 * 60_000 } });
    w.provider.neverReady.add("p4de.24xlarge");
    await w.ensure(cloudSpec("one", A100));
    await w.tick();
    const first = w.provider.live()[0]?.instanceId;
    for (let i = 0; i < 19; i++) await w.tick(MINUTE);
    expect(w.provider.instances.get(first as string)?.state).toBe("running");
    await w.tick(2 * MINUTE);
    await w.tick();
    expect(w.provider.terminateCalls.flat()).toContain(first);
    // Replaced: a new node was launched for the replica (this one boots).
    w.provider.neverReady.clear();
    for (let i = 0; i < 10; i++) await w.tick();
    expect(w.provider.live().map((i) => i.instanceId)).not.toContain(first);
    expect(w.provider.live()).toHaveLength(1);
    expect(await w.running("one")).toHaveLength(1);
  });

  it("a node whose launch keeps failing is given up after the timeout, leaking nothing, and the replica is placed again", async () => {
    const w = await capacityWorld({ settings: { nodeReadyTimeoutMs: 20 * 60_000 } });
    w.provider.failLaunches = 1000;
    await w.ensure(cloudSpec("one", A100));
    for (let i = 0; i < 19; i++) await w.tick(MINUTE);
    expect(await w.nodes()).toHaveLength(1);
    const callsWhileFailing = w.provider.launches.length;
    // One call per tick, same attempt: no hot loop.
    expect(callsWhileFailing).toBeLessThanOrEqual(20);
    expect(new Set(w.provider.launches.map((l) => `${l.nodeId}:${l.attempt}`)).size).toBe(1);
    await w.tick(2 * MINUTE);
    w.provider.failLaunches = 0;
    for (let i = 0; i < 10; i++) await w.tick();
    expect(w.provider.live()).toHaveLength(1);
    expect(await w.running("one")).toHaveLength(1);
    expect(w.log.some((line) => line.includes("not launched: no instance 20 minutes after it was recorded (RequestLimitExceeded"))).toBe(true);
  });

  it("garbage collection spares what is not ours or too young, and reaps our unknown instances after the grace period", async () => {
    const w = await capacityWorld({ settings: { orphanGraceMs: 15 * 60_000 } });
    const foreign = w.provider.addInstance({ instanceId: "i-foreign", instanceType: "p4de.24xlarge", availabilityZone: "us-east-1a", ours: false });
    const orphan = w.provider.addInstance({ instanceId: "i-orphan", nodeId: "node_gone", instanceType: "g6.xlarge", availabilityZone: "us-east-1a", ours: true });
    await w.tick(5 * MINUTE);
    const young = w.provider.addInstance({ instanceId: "i-young", instanceType: "g6.xlarge", availabilityZone: "us-east-1a", ours: true });
    await w.tick(11 * MINUTE);

    expect(w.provider.instances.get(orphan.instanceId)?.state).not.toBe("running");
    expect(w.provider.instances.get(young.instanceId)?.state).toBe("running");
    expect(w.provider.instances.get(foreign.instanceId)?.state).toBe("running");
    expect(w.provider.terminateCalls.flat()).not.toContain("i-foreign");
    expect(w.provider.terminateCalls.flat()).not.toContain("i-young");
  });

  it("an empty node is kept through the grace period, then terminated (consolidation)", async () => {
    const w = await capacityWorld({ settings: { emptyNodeGraceMs: 10 * 60_000 } });
    const fixed = (replicas: number) => ({ ...cloudSpec("one", A100), execution_policy: "fixed", execution_policy_config: { replicas } });
    await w.ensure(fixed(1));
    for (let i = 0; i < 9; i++) await w.tick();
    expect(await w.running("one")).toHaveLength(1);
    expect((await w.nodes())[0]?.instance_type).toBe("g6.xlarge");
    await w.ensure(fixed(0));
    for (let i = 0; i < 6; i++) await w.tick();
    expect(await w.running("one")).toHaveLength(0);
    expect(w.provider.live()).toHaveLength(1);
    for (let i = 0; i < 10; i++) await w.tick(MINUTE);
    for (let i = 0; i < 3; i++) await w.tick();
    expect(w.provider.live()).toHaveLength(0);
    expect(await w.nodes()).toHaveLength(0);
  });

  it("delete converges under terminate faults: nothing is left running", async () => {
    const w = await capacityWorld({ settings: { emptyNodeGraceMs: 60_000 } });
    await w.ensure(cloudSpec("one", A100));
    for (let i = 0; i < 9; i++) await w.tick();
    expect(await w.running("one")).toHaveLength(1);
    w.provider.terminateFaults = 4;
    await deleteWorkload(w.ctx, w.admin, "acme", "one");
    for (let i = 0; i < 20; i++) await w.tick();
    expect(w.provider.terminateCalls.length).toBeGreaterThan(4);
    expect(w.provider.live()).toHaveLength(0);
    expect(await w.nodes()).toHaveLength(0);
  });

  it("estimates each workload's cost as GPU-hours x its share of the node's price, in status and usage", async () => {
    const w = await capacityWorld();
    await w.ensure(cloudSpec("one", A100));
    for (let i = 0; i < 9; i++) await w.tick();
    // The replica holds its GPU from its allocation (while the node boots too: the node is paid for).
    const allocatedAt = Date.parse(Object.values((await w.nodes())[0]?.allocations ?? {})[0]?.at ?? "");
    for (let i = 0; i < 60; i++) await w.tick(MINUTE);
    const hours = (w.now() - allocatedAt) / 3_600_000;
    const status = await w.status("one");
    // One GPU of a p4de.24xlarge ($27.447/h over 8 GPUs = $3.431/h), held for `hours`.
    expect(status.estimated_cost_usd).toBeCloseTo(3.431 * hours, 3);
    const usage = await readUsage(w.ctx, "acme", "one", { from: new Date(allocatedAt - 3_600_000), to: new Date(w.now() + 1) });
    expect(usage.estimated_cost_usd).toBeCloseTo(status.estimated_cost_usd as number, 6);
  });

  it("the deployment ceiling bounds the real bill: no launch past it, and the workload says why with the numbers", async () => {
    const w = await capacityWorld({ settings: { maxHourlyCostUsd: 20 } });
    await w.ensure(cloudSpec("one", A100));
    for (let i = 0; i < 5; i++) await w.tick();
    expect(w.provider.launches).toHaveLength(0);
    const placed = (await w.status("one")).conditions.find((c) => c.type === "Placed");
    expect(placed).toMatchObject({ status: "False", reason: "InsufficientCapacity" });
    expect(placed?.message).toContain("p4de.24xlarge ($27.447/h) would pass 20 instances / $20/h");
  });
});

describe("placement is retried when the spec changes", () => {
  it("Unplaceable under a ceiling below one GPU's share, placed once the ceiling is raised", async () => {
    const w = await capacityWorld();
    await w.ensure(cloudSpec("one", A100, { max_hourly_cost_usd: 3 }));
    for (let i = 0; i < 3; i++) await w.tick();
    expect((await w.status("one")).conditions.find((c) => c.type === "Placed")).toMatchObject({
      status: "False",
      reason: "Unplaceable",
      message: expect.stringContaining("one GPU of p4de.24xlarge costs $3.431/h ($27.447/h for 8), above max_hourly_cost_usd 3"),
    });
    expect(w.provider.launches).toHaveLength(0);

    await w.ensure(cloudSpec("one", A100, { max_hourly_cost_usd: 5 }));
    for (let i = 0; i < 9; i++) await w.tick();
    expect(await w.running("one")).toHaveLength(1);
    expect((await w.status("one")).conditions.find((c) => c.type === "Placed")).toMatchObject({ status: "True" });
  });

  it("a terminated node takes its workers with it", async () => {
    const w = await capacityWorld({ settings: { emptyNodeGraceMs: 60_000 } });
    await w.ensure(cloudSpec("one", A100));
    for (let i = 0; i < 9; i++) await w.tick();
    const worker = (await w.running("one"))[0]?.worker as string;
    expect(worker).toMatch(/^wrk_/);
    await deleteWorkload(w.ctx, w.admin, "acme", "one");
    for (let i = 0; i < 12; i++) await w.tick();
    expect(await w.nodes()).toHaveLength(0);
    expect(await listProjectWorkers(w.ctx, "acme")).toEqual([]);
  });
});

describe("aliases", () => {
  it("a spec naming today's NVIDIA H100-SXM5-80GB is stored as written and placed on an H100 node", async () => {
    const w = await capacityWorld();
    await w.ensure(cloudSpec("h", { gpu_pool: ["NVIDIA H100-SXM5-80GB"] }));
    for (let i = 0; i < 9; i++) await w.tick();
    expect((await w.nodes())[0]).toMatchObject({ instance_type: "p5.4xlarge", gpu: "NVIDIA H100 80GB HBM3" });
    expect(await w.running("h")).toHaveLength(1);
    const status = await w.status("h");
    expect(status.conditions.find((c) => c.type === "Accepted")).toMatchObject({ status: "True" });
  });
});

describe("rolling updates on shared capacity", () => {
  it("a replacement replica takes the budget of the slot it replaces, so a workload at its ceiling still rolls", async () => {
    const w = await capacityWorld();
    // One replica, and a ceiling that affords exactly one A100 share ($3.431/h).
    const spec = (maxLen: number) => ({
      ...cloudSpec("one", A100, { min_workers: 1, max_workers: 1, max_hourly_cost_usd: 4 }),
      command: `vllm serve meta-llama/Llama-3.1-8B-Instruct --max-model-len ${maxLen}`,
    });
    await w.ensure(spec(8192));
    for (let i = 0; i < 9; i++) await w.tick();
    const before = await w.running("one");
    expect(before).toHaveLength(1);

    await w.ensure(spec(4096));
    for (let i = 0; i < 6; i++) await w.tick();
    const after = await w.running("one");
    expect(after).toHaveLength(1);
    expect(after[0]?.id).not.toBe(before[0]?.id);
    expect(w.provider.launches).toHaveLength(1);
  });
});

describe("autoscaling while a node boots", () => {
  it("one request's scale-up survives a node boot longer than the cold signal lasts: the waiting slot counts as booting", async () => {
    const w = await capacityWorld({ bootMs: 8 * 60_000 });
    await w.ensure(cloudSpec("one", A100, { min_workers: 0 }));
    await w.cold("one");
    const decisions: string[] = [];
    for (let i = 0; i < 24; i++) decisions.push(...(await w.tick()).map((o) => `${o.desired}: ${o.decision}`));
    expect((await w.status("one")).ready_replicas).toBe(1);
    expect(w.provider.launches).toHaveLength(1);
    // The cold signal lasts 2 minutes; the node takes 8: the waiting slot held the count at 1.
    expect(decisions.filter((d) => d.startsWith("0:"))).toEqual([]);
    expect(decisions).toContainEqual(expect.stringContaining("1 replica(s) still booting"));
  });
});

describe("failed replicas on shared capacity", () => {
  it("a retry takes the GPUs its failed attempt held: no second node for a full one", async () => {
    const w = await capacityWorld();
    // A fixed workload on the cheapest fit: a 1-GPU g6.xlarge, full with one replica.
    await w.ensure({ ...cloudSpec("one", A100), execution_policy: "fixed", execution_policy_config: { replicas: 1 } });
    for (let i = 0; i < 9; i++) await w.tick();
    const [first] = await w.running("one");
    expect(first?.gpus).toEqual([0]);

    w.failReplica(first?.id as string);
    for (let i = 0; i < 6; i++) await w.tick();

    const [retry] = await w.running("one");
    expect(retry?.id).not.toBe(first?.id);
    expect(retry).toMatchObject({ node: first?.node, gpus: [0] });
    expect(w.provider.launches).toHaveLength(1);
    const [node] = await w.nodes();
    expect(Object.keys(node?.allocations ?? {})).toEqual([retry?.id]);
  });
});

describe("bin-packing", () => {
  it("packs 20 one-GPU replicas of different workloads onto 3 eight-GPU nodes, filling the fullest first", async () => {
    const w = await capacityWorld();
    for (let i = 0; i < 20; i++) await w.ensure(cloudSpec(`w${i}`, A100, { min_workers: 1, max_workers: 1 }));
    for (let i = 0; i < 10; i++) await w.tick();

    const nodes = await w.nodes();
    expect(w.provider.launches).toHaveLength(3);
    expect(nodes.map((n) => Object.keys(n.allocations).length).sort()).toEqual([4, 8, 8]);
    for (let i = 0; i < 20; i++) expect(await w.running(`w${i}`)).toHaveLength(1);
  });

  it("takes the cheapest fit: an L4 for a replica whose pool also allows A100s", async () => {
    const w = await capacityWorld();
    await w.ensure(cloudSpec("one", { gpu_pool: ["NVIDIA A100-SXM4-80GB", "NVIDIA L4"] }));
    for (let i = 0; i < 9; i++) await w.tick();
    expect((await w.nodes()).map((n) => n.instance_type)).toEqual(["g6.xlarge"]);
    expect((await w.status("one")).conditions.find((c) => c.type === "Placed")?.message).toContain("at $0.805/h");
  });
});

describe("pinned vLLM environments", () => {
  it("a node is launched with the vllm_version of the workload it is for, and a workload pinning another version gets a node of its own", async () => {
    const w = await capacityWorld();
    await w.ensure({ ...cloudSpec("old", A100, { min_workers: 1, max_workers: 1 }), vllm_version: "0.8.5" });
    for (let i = 0; i < 9; i++) await w.tick();
    await w.ensure({ ...cloudSpec("new", A100, { min_workers: 1, max_workers: 1 }), vllm_version: "0.9.1" });
    await w.ensure(cloudSpec("unpinned", A100, { min_workers: 1, max_workers: 1 }));
    for (let i = 0; i < 9; i++) await w.tick();

    expect(w.provider.launches.map((l) => l.vllmVersions)).toEqual([["0.8.5"], ["0.9.1"]]);
    const [old] = await w.running("old");
    const [pinned] = await w.running("new");
    expect(pinned?.node).not.toBe(old?.node);
    expect(await w.running("unpinned")).toHaveLength(1);
  });
});
