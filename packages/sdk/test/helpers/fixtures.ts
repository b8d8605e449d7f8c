import type { EnsureResult, WorkloadView } from "@inferencekey/core";

export const TOKEN = "ik_sdk_testtoken000000000000000000000";
export const BASE_URL = "https://api.test.inferencekey.com";

export function workloadView(overrides: Partial<WorkloadView> = {}): WorkloadView {
  return {
    id: "wl_1",
    project_slug: "acme",
    slug: "support-bot",
    name: "Support bot",
    spec: {
      name: "Support bot",
      slug: "support-bot",
      model: "meta-llama/Llama-3.1-8B-Instruct",
      backend: "vllm",
      task_type: "text2text",
      command: "vllm serve meta-llama/Llama-3.1-8B-Instruct",
      execution_policy: "fixed",
      execution_policy_config: { replicas: 1 },
    },
    generation: 1,
    created_at: "2025-01-01T00:00:00.000Z",
    updated_at: "2025-01-01T00:00:00.000Z",
    status: {
      desired_replicas: 1,
      ready_replicas: 0,
      decision: "fixed: 1 replica",
      next_change_at: "2025-01-02T00:00:00.000Z",
      conditions: [
        { type: "Accepted", status: "True", reason: "SpecValid", message: "generation 1 accepted" },
      ],
      replicas: [
        {
          id: "rep_1",
          slot: 0,
          generation: 1,
          worker_id: "wrk_7Yc2abcd",
          desired: "running",
          phase: "starting",
          restarts: 0,
          exit_code: null,
        },
      ],
      events: [
        {
          at: "2025-01-01T00:00:00.000Z",
          type: "Created",
          message: "workload created at generation 1",
          generation: 1,
        },
      ],
    },
    ...overrides,
  };
}

export function ensureResult(overrides: Partial<EnsureResult> = {}): EnsureResult {
  return {
    project_slug: "acme",
    workload_slug: "support-bot",
    generation: 1,
    changed: true,
    created: true,
    differences: [],
    workload: workloadView(),
    ...overrides,
  };
}
