import { describe, expect, it } from "vitest";
import { toEnsureRef, toWorkload, toWorkloadPage } from "../../src/resources/workloads";
import { ensureResult, workloadView } from "../helpers/fixtures";

describe("workload conversions", () => {
  it("camelCases the workload and its status but leaves the spec in wire names", () => {
    // Prepare
    const view = workloadView();

    // Act
    const workload = toWorkload(view);

    // Assess
    expect(Object.keys(workload).sort()).toEqual(
      ["createdAt", "generation", "id", "name", "projectSlug", "slug", "spec", "status", "updatedAt"].sort(),
    );
    expect(Object.keys(workload.status).sort()).toEqual(
      [
        "conditions",
        "decision",
        "desiredReplicas",
        "events",
        "nextChangeAt",
        "readyReplicas",
        "replicas",
      ].sort(),
    );
    expect(workload.status.replicas).toEqual([
      {
        id: "rep_1",
        slot: 0,
        generation: 1,
        workerId: "wrk_7Yc2abcd",
        desired: "running",
        phase: "starting",
        restarts: 0,
        exitCode: null,
      },
    ]);
    expect(workload.spec).toBe(view.spec);
  });

  it("tolerates a status without replicas", () => {
    // Prepare
    const view = workloadView();
    const { replicas: _replicas, ...older } = view.status;

    // Act
    const workload = toWorkload({ ...view, status: older as typeof view.status });

    // Assess
    expect(workload.status.replicas).toEqual([]);
  });

  it("builds the ensure ref with the workload converted", () => {
    // Prepare
    const differences = [{ path: "execution_policy_config.replicas", from: 1, to: 2 }];

    // Act
    const ref = toEnsureRef(ensureResult({ changed: true, created: false, generation: 2, differences }));

    // Assess
    expect(ref).toMatchObject({
      projectSlug: "acme",
      workloadSlug: "support-bot",
      generation: 2,
      created: false,
      differences,
    });
    expect(ref.workload.projectSlug).toBe("acme");
  });

  it("maps next_cursor to nextCursor, undefined on the last page", () => {
    // Prepare
    const last = { data: [workloadView()] };

    // Act
    const page = toWorkloadPage(last);

    // Assess
    expect(page.nextCursor).toBeUndefined();
    expect(page.data).toHaveLength(1);
  });
});
