import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { planReconcile, type ReplicaRecord } from "../../src";
import { replica } from "./replica-fixture";

/**
 * Property: from any starting set of replicas, repeatedly planning and applying (with an agent that
 * makes new replicas ready and stops stopped ones) converges to exactly `desired` ready replicas of
 * the current generation, one per slot, and never has more than maxSurge (1) slot running an old and
 * a new replica at once.
 */
const replicaArb = fc.record({
  slot: fc.integer({ min: 0, max: 5 }),
  generation: fc.integer({ min: 1, max: 4 }),
  desired: fc.constantFrom("running" as const, "stopped" as const),
  phase: fc.constantFrom("pending" as const, "starting" as const, "ready" as const, "stopping" as const, "stopped" as const),
});

function record(r: { slot: number; generation: number; desired: "running" | "stopped"; phase: ReplicaRecord["phase"] }): ReplicaRecord {
  return replica(r.slot, r.generation, { desired: r.desired, phase: r.phase });
}

describe("planReconcile (property)", () => {
  it("converges to exactly the desired replicas of the current generation, within the surge bound", () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(replicaArb, { selector: (r) => `${r.slot}/${r.generation}`, maxLength: 12 }),
        fc.integer({ min: 0, max: 5 }),
        fc.integer({ min: 1, max: 5 }),
        (initial, desired, generation) => {
          let replicas = initial.filter((r) => r.generation <= generation).map(record);
          const surgingSlots = (set: ReplicaRecord[]) => {
            const live = set.filter((r) => r.desired === "running");
            return new Set(live.filter((r) => r.generation === generation && live.some((o) => o.slot === r.slot && o.generation < generation)).map((r) => r.slot)).size;
          };
          // A starting state may already have several rollouts under way; the plan must not add to them.
          const allowedSurge = Math.max(1, surgingSlots(replicas));
          for (let step = 0; step < 40; step++) {
            const actions = planReconcile({ desired, generation, deleted: false, replicas, workerOnline: () => true });
            for (const action of actions) {
              if (action.kind === "create") {
                replicas.push(record({ slot: action.slot, generation: action.generation, desired: "running", phase: "pending" }));
              } else if (action.kind === "stop") {
                replicas = replicas.map((r) => (r.id === action.replica.id ? { ...r, desired: "stopped" } : r));
              } else if (action.kind === "delete") {
                replicas = replicas.filter((r) => r.id !== action.replica.id);
              }
            }
            // Rolling: at most maxSurge (1) slot runs an old and a new replica at once.
            expect(surgingSlots(replicas)).toBeLessThanOrEqual(allowedSurge);
            // The agent's turn: what should run becomes ready, what should stop reports stopped.
            replicas = replicas.map((r) => ({ ...r, phase: r.desired === "stopped" ? "stopped" : "ready" }));
          }
          const running = replicas.filter((r) => r.desired === "running");
          expect(running).toHaveLength(desired);
          expect(new Set(running.map((r) => r.slot)).size).toBe(desired);
          expect(running.every((r) => r.generation === generation && r.phase === "ready" && r.slot < desired)).toBe(true);
          expect(replicas.filter((r) => r.desired === "stopped")).toEqual([]);
        },
      ),
      { numRuns: 1000 },
    );
  });
});
