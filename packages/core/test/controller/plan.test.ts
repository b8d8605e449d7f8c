import { describe, expect, it } from "vitest";
import { planReconcile } from "../../src";
import { replica } from "./replica-fixture";

const online = () => true;
const kinds = (actions: ReturnType<typeof planReconcile>) =>
  actions.map((a) => (a.kind === "create" ? `create ${a.slot}@${a.generation}` : a.kind === "delete-workload" ? a.kind : `${a.kind} ${a.replica.slot}@${a.replica.generation}`));

describe("planReconcile", () => {
  it("creates the missing slots", () => {
    expect(kinds(planReconcile({ desired: 2, generation: 1, deleted: false, replicas: [], workerOnline: online }))).toEqual(["create 0@1", "create 1@1"]);
  });

  it("does nothing when actual equals desired (a doubled tick is harmless)", () => {
    const replicas = [replica(0, 1), replica(1, 1)];
    expect(planReconcile({ desired: 2, generation: 1, deleted: false, replicas, workerOnline: online })).toEqual([]);
  });

  it("stops slots above the desired count", () => {
    const replicas = [replica(0, 1), replica(1, 1)];
    expect(kinds(planReconcile({ desired: 1, generation: 1, deleted: false, replicas, workerOnline: online }))).toEqual(["stop 1@1"]);
  });

  it("rolls one slot at a time: the new replica starts while the old keeps serving", () => {
    const replicas = [replica(0, 1), replica(1, 1)];
    expect(kinds(planReconcile({ desired: 2, generation: 2, deleted: false, replicas, workerOnline: online }))).toEqual(["create 0@2"]);
  });

  it("stops the old replica only once the new one is ready, then moves to the next slot", () => {
    const starting = [replica(0, 1), replica(0, 2, { phase: "starting" }), replica(1, 1)];
    const ready = [replica(0, 1), replica(0, 2), replica(1, 1)];
    expect(kinds(planReconcile({ desired: 2, generation: 2, deleted: false, replicas: starting, workerOnline: online }))).toEqual([]);
    expect(kinds(planReconcile({ desired: 2, generation: 2, deleted: false, replicas: ready, workerOnline: online }))).toEqual(["stop 0@1", "create 1@2"]);
  });

  it("deletes replicas whose agent reported them stopped, and those on offline workers", () => {
    const replicas = [replica(0, 1, { desired: "stopped", phase: "stopped" }), replica(1, 1, { worker_id: "wrk_gone" })];
    const actions = planReconcile({ desired: 2, generation: 1, deleted: false, replicas, workerOnline: (id) => id !== "wrk_gone" });
    expect(kinds(actions)).toEqual(["delete 0@1", "delete 1@1", "create 0@1", "create 1@1"]);
  });

  it("a scale-up right after a scale-down recreates the slot in the same plan, after deleting its stopped record", () => {
    // Prepare: slot 1 was scaled away last tick and its agent has reported it stopped; now 2 are wanted again.
    const replicas = [replica(0, 1), replica(1, 1, { desired: "stopped", phase: "stopped" })];

    // Act
    const actions = planReconcile({ desired: 2, generation: 1, deleted: false, replicas, workerOnline: online });

    // Assess: the delete comes first, so the create-only write of the same id succeeds this tick.
    expect(kinds(actions)).toEqual(["delete 1@1", "create 1@1"]);
  });

  it("waits for the agent to stop a slot it is still stopping before recreating it (same id)", () => {
    const replicas = [replica(0, 1), replica(1, 1, { desired: "stopped", phase: "ready" })];
    expect(kinds(planReconcile({ desired: 2, generation: 1, deleted: false, replicas, workerOnline: online }))).toEqual([]);
  });

  it("a deleted workload stops everything, then is removed once no replica is left", () => {
    expect(kinds(planReconcile({ desired: 3, generation: 1, deleted: true, replicas: [replica(0, 1)], workerOnline: online }))).toEqual(["stop 0@1"]);
    expect(kinds(planReconcile({ desired: 3, generation: 1, deleted: true, replicas: [], workerOnline: online }))).toEqual(["delete-workload"]);
  });

  it("keeps a failed replica of the current generation (the agent's report says why) rather than looping", () => {
    const replicas = [replica(0, 1, { phase: "failed" })];
    expect(planReconcile({ desired: 1, generation: 1, deleted: false, replicas, workerOnline: online })).toEqual([]);
  });
});
