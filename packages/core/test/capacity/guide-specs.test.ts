import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { policyState, validateSpec } from "../../src";
import { capacityWorld } from "./world";

const vectors = JSON.parse(readFileSync(resolve(import.meta.dirname, "../../../../test/vectors/specs.json"), "utf8")) as {
  vectors: { name: string; ensured: boolean; wire: Record<string, unknown> }[];
};

/** The guide's specs that run on cloud capacity (no worker_id, no private workers). */
const cloud = vectors.vectors.filter(
  (v) => v.ensured && v.wire.worker_id === undefined && (v.wire.execution_policy_config as { workers?: { source?: string } } | undefined)?.workers?.source !== "private",
);

/** A moment (Monday 2026-11-30, by the quarter hour) when the spec's policy wants replicas. */
function openAt(wire: Record<string, unknown>): string {
  const spec = validateSpec(wire);
  for (let t = Date.parse("2026-11-30T00:05:00Z"); t < Date.parse("2026-12-01T00:00:00Z"); t += 15 * 60_000) {
    if (spec.execution_policy === "autoscaling" || policyState(spec, new Date(t)).desiredReplicas > 0) return new Date(t).toISOString();
  }
  throw new Error(`${wire.slug}: never open on that Monday`);
}

describe("the guide's cloud specs on shared capacity, through the real controller", () => {
  it.each(cloud.map((v) => [v.name, v] as const))("%s: placed, or Placed=False with numbers", async (_name, vector) => {
    const w = await capacityWorld({ start: openAt(vector.wire) });
    await w.ensure(vector.wire);
    const slug = vector.wire.slug as string;
    // Autoscaling specs start at min_workers 0: requests keep arriving (the gateway records each one
    // that finds no ready replica) while the node boots.
    for (let i = 0; i < 12; i++) {
      await w.cold(slug);
      await w.tick();
    }
    const placed = (await w.status(slug)).conditions.find((c) => c.type === "Placed");
    expect(placed, JSON.stringify(await w.status(slug))).toBeDefined();
    if (placed?.status === "True") {
      expect(placed.message).toMatch(/^\d+ GPU\(s\) of [a-z0-9.-]+ \(NVIDIA [^)]+\) on node node_\w+ at \$\d+(\.\d+)?\/h$/);
      expect(await w.running(slug)).not.toHaveLength(0);
    } else {
      expect(placed?.reason).toMatch(/^(Unplaceable|QuotaExceeded|InsufficientCapacity)$/);
      expect(placed?.message).toMatch(/\$\d/);
    }
  });
});
