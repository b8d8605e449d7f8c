import { describe, expect, it } from "vitest";
import {
  capacityKeys,
  MemoryStore,
  type NodeRecord,
  nodeLaunchToken,
  parseCapacitySettings,
  type PlatformContext,
  redeemLaunchToken,
  ValidationError,
} from "../../src";

function node(overrides: Partial<NodeRecord> = {}): NodeRecord {
  return {
    id: "node_abcdef",
    state: "running",
    instance_type: "p4de.24xlarge",
    gpu: "NVIDIA A100-SXM4-80GB",
    gpu_count: 8,
    price_usd_per_hour: 27.447,
    region: "us-east-1",
    availability_zone: "us-east-1a",
    cuda_version: "13.0",
    attempt: 2,
    attempt_started_at: "2026-11-30T10:00:00.000Z",
    unavailable_offerings: [],
    created_at: "2026-11-30T09:58:00.000Z",
    instance_id: "i-1",
    allocations: {},
    workers: {},
    ...overrides,
  };
}

describe("node launch tokens", () => {
  it("are one-time, bound to the node's current attempt and instance, and good for 30 minutes", async () => {
    let clock = Date.parse("2026-11-30T10:05:00Z");
    const ctx: PlatformContext = { store: new MemoryStore(() => clock), serverSecret: "s", now: () => new Date(clock) };
    await ctx.store.put({ ...capacityKeys.node("node_abcdef"), data: { ...node() } }, { kind: "absent" });
    const token = nodeLaunchToken("s", "node_abcdef", 2);

    expect(await redeemLaunchToken(ctx, "node_abcdef", nodeLaunchToken("s", "node_abcdef", 1), "i-1")).toEqual({ refused: "launch token does not match the node's current launch" });
    expect(await redeemLaunchToken(ctx, "node_abcdef", token, "i-2")).toEqual({ refused: "launch token is bound to another instance than i-2" });
    const redeemed = await redeemLaunchToken(ctx, "node_abcdef", token, "i-1", "10.0.0.7");
    expect(redeemed).toMatchObject({ node: { state: "ready", dial_host: "10.0.0.7", ready_at: "2026-11-30T10:05:00.000Z" } });
    expect(await redeemLaunchToken(ctx, "node_abcdef", token, "i-1")).toEqual({ refused: "launch token already used" });

    await ctx.store.put({ ...capacityKeys.node("node_late"), data: { ...node({ id: "node_late" }) } }, { kind: "absent" });
    clock = Date.parse("2026-11-30T10:31:00Z");
    expect(await redeemLaunchToken(ctx, "node_late", nodeLaunchToken("s", "node_late", 2), "i-1")).toEqual({ refused: "launch token expired (30 minutes)" });
  });
});

describe("capacity settings", () => {
  it("read the deployment ceiling and timings from the environment, with defaults", () => {
    expect(parseCapacitySettings({})).toMatchObject({ region: "us-east-1", maxHourlyCostUsd: 100, maxInstances: 10, nodeReadyTimeoutMs: 20 * 60_000 });
    expect(
      parseCapacitySettings({
        AWS_REGION: "us-west-2",
        INFERENCEKEY_CLOUD_MAX_HOURLY_COST_USD: "60.5",
        INFERENCEKEY_CLOUD_MAX_INSTANCES: "3",
        INFERENCEKEY_CLOUD_AVAILABILITY_ZONES: "us-west-2a, us-west-2b",
        INFERENCEKEY_NODE_READY_TIMEOUT_MINUTES: "30",
      }),
    ).toMatchObject({ region: "us-west-2", maxHourlyCostUsd: 60.5, maxInstances: 3, availabilityZones: ["us-west-2a", "us-west-2b"], nodeReadyTimeoutMs: 30 * 60_000 });
  });

  it("refuse a bad value naming the variable", () => {
    expect(() => parseCapacitySettings({ INFERENCEKEY_CLOUD_MAX_INSTANCES: "2.5" })).toThrow(ValidationError);
    expect(() => parseCapacitySettings({ INFERENCEKEY_CLOUD_MAX_HOURLY_COST_USD: "lots" })).toThrow(/INFERENCEKEY_CLOUD_MAX_HOURLY_COST_USD is invalid/);
  });
});
