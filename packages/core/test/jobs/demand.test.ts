import { describe, expect, it } from "vitest";
import type { Compute } from "../../src/compute";
import { reconcileWorkload, type SignalSource } from "../../src/controller";
import { cancelJob, submitJob } from "../../src/jobs/service";
import { pendingJobCount } from "../../src/jobs/store";
import { jobsHarness } from "./support";

/** Places nothing: the controller's decision (desired) is what is looked at. */
const noPlacement: Compute = { placeCloudReplica: async () => ({ unavailable: "no compute in this test" }) };

const AUTOSCALING = {
  execution_policy: "autoscaling" as const,
  execution_policy_config: { min_workers: 0, max_workers: 3, max_hourly_cost_usd: 5, workers: { source: "cloud", cloud_pool: { gpu_pool: ["NVIDIA L4"] } } },
};

describe("queued jobs as the autoscaler's demand", () => {
  it("queued and waiting jobs count (cancelled ones do not); a reranker at zero wants a replica for its first job only", async () => {
    // Prepare
    const h = await jobsHarness({ spec: AUTOSCALING });
    const signals: SignalSource = { requestsPerMinute: () => 0, queuedJobs: (p, w) => pendingJobCount(h.platform.ctx, p, w) };
    const idle = await reconcileWorkload(h.platform.ctx, noPlacement, "acme", "ranker", { signals });
    const first = (await submitJob(h.service, { workload: await h.record(), body: { query: "q", documents: ["a"] } })).job;

    // Act
    const withJob = await reconcileWorkload(h.platform.ctx, noPlacement, "acme", "ranker", { signals });
    const depth = await pendingJobCount(h.platform.ctx, "acme", "ranker");
    await cancelJob(h.service, "acme", "ranker", first.id);
    const afterCancel = await pendingJobCount(h.platform.ctx, "acme", "ranker");

    // Assess
    expect(idle?.desired).toBe(0);
    expect(depth).toBe(1);
    expect(withJob?.desired).toBe(1);
    expect(withJob?.decision).toContain("in flight");
    expect(afterCancel).toBe(0);
  });
});
