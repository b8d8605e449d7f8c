import { describe, expect, it } from "vitest";
import { changesRuntime, diffSpecs, MODALITIES, TASK_TYPES, UNSERVED_TASK_TYPES, validateSpec } from "../../src";

const base = { name: "Support bot", slug: "support-bot", model: "meta-llama/Llama-3.1-8B-Instruct", backend: "vllm" };

describe("validateSpec: normalisation", () => {
  it("fills the server defaults: text2text, fixed with one replica, the backend's command", () => {
    // Act
    const spec = validateSpec(base);

    // Assess
    expect(spec).toEqual({
      ...base,
      task_type: "text2text",
      command: "vllm serve meta-llama/Llama-3.1-8B-Instruct",
      execution_policy: "fixed",
      execution_policy_config: { replicas: 1 },
    });
  });

  it("treats JSON null as an omitted optional field, at any depth", () => {
    // Act
    const withNulls = validateSpec({ ...base, worker_id: null, vllm_version: null, execution_policy: null, execution_policy_config: null });

    // Assess
    expect(withNulls).toEqual(validateSpec(base));
  });

  it("omitting execution_policy equals an explicit fixed/1", () => {
    expect(diffSpecs(validateSpec(base), validateSpec({ ...base, execution_policy: "fixed", execution_policy_config: { replicas: 1 } }))).toEqual([]);
  });

  it("accepts the guide's cloud autoscaling, scheduled window, cron and private specs", () => {
    const specs = [
      {
        ...base,
        execution_policy: "autoscaling",
        execution_policy_config: {
          min_workers: 0,
          max_workers: 5,
          max_hourly_cost_usd: 5.0,
          workers: {
            source: "cloud",
            cloud_pool: { gpu_pool: ["NVIDIA A100-SXM4-80GB"], max_hourly_cost_usd: 5.0, max_instances: 5, allowed_cuda_versions: ["13.0"] },
          },
        },
      },
      { ...base, execution_policy: "scheduled", execution_policy_config: { window: "Mon-Fri 08:00-20:00 Europe/Madrid" } },
      { ...base, task_type: "embedding", execution_policy: "scheduled", execution_policy_config: { cron: "0 2 * * *" } },
      {
        ...base,
        worker_id: "wrk_7Yc2abcd",
        execution_policy: "autoscaling",
        execution_policy_config: { min_workers: 1, max_workers: 4, workers: { source: "private", private_worker_ids: ["wrk_7Yc2abcd"] } },
      },
    ];
    for (const spec of specs) expect(() => validateSpec(spec)).not.toThrow();
  });

  it("fills cron defaults only where the config gives none", () => {
    const spec = validateSpec({ ...base, execution_policy: "scheduled", execution_policy_config: { cron: "0 2 * * *" } });
    expect(spec.execution_policy_config).toEqual({ cron: "0 2 * * *", replicas: 1 });
  });

  it("every task_type but the unserved video ones has at least one backend that serves it", () => {
    for (const taskType of TASK_TYPES.filter((t) => !UNSERVED_TASK_TYPES.includes(t))) {
      const backend = MODALITIES[taskType].backends[0];
      expect(() => validateSpec({ ...base, backend, task_type: taskType })).not.toThrow();
    }
  });

  it("lists every problem at once", () => {
    let details: { path: string }[] = [];
    try {
      validateSpec({ ...base, slug: "Bad_Slug", backend: "vlm", execution_policy: "autoscaling", execution_policy_config: { min_replicas: 1, max_workers: 2, workers: { source: "private", private_worker_ids: ["wrk_abcd1234"] } } });
    } catch (error) {
      details = (error as { details: { path: string }[] }).details;
    }
    expect(details.map((d) => d.path).sort()).toEqual(["backend", "execution_policy_config.min_replicas", "slug"]);
  });
});

describe("diffSpecs / changesRuntime", () => {
  it("a new name changes the spec but not what runs", () => {
    const differences = diffSpecs(validateSpec(base), validateSpec({ ...base, name: "Renamed" }));
    expect(differences).toEqual([{ path: "name", from: "Support bot", to: "Renamed" }]);
    expect(changesRuntime(differences)).toBe(false);
  });

  it("a replica count change rolls", () => {
    const differences = diffSpecs(
      validateSpec(base),
      validateSpec({ ...base, execution_policy_config: { replicas: 2 } }),
    );
    expect(differences).toEqual([{ path: "execution_policy_config.replicas", from: 1, to: 2 }]);
    expect(changesRuntime(differences)).toBe(true);
  });
});
