import { validateSpec, WORKLOAD_SPEC_FIELDS } from "@inferencekey/core";
import { describe, expect, expectTypeOf, it } from "vitest";
import { Backend, type EnsureSpec, ExecutionPolicy, TaskType } from "../src";
import { toWireSpec } from "../src/spec";
import { GUIDE_SPECS, GUIDE_WORKER_ID } from "./helpers/guide-specs";

describe("toWireSpec", () => {
  it("renames every top-level field to its wire name and keeps the policy config verbatim", () => {
    // Prepare
    const spec: EnsureSpec = {
      name: "Poster maker",
      slug: "poster-maker",
      model: "stabilityai/stable-diffusion-3.5-large",
      backend: Backend.VllmOmni,
      taskType: TaskType.Text2Image,
      command: "vllm-omni serve stabilityai/stable-diffusion-3.5-large",
      vllmVersion: "0.6.3",
      workerId: GUIDE_WORKER_ID,
      executionPolicy: ExecutionPolicy.Autoscaling,
      executionPolicyConfig: {
        min_workers: 1,
        max_workers: 4,
        workers: { source: "private", private_worker_ids: [GUIDE_WORKER_ID] },
      },
    };

    // Act
    const wire = toWireSpec(spec);

    // Assess
    expect(wire).toEqual({
      name: "Poster maker",
      slug: "poster-maker",
      model: "stabilityai/stable-diffusion-3.5-large",
      backend: "vllm-omni",
      task_type: "text2image",
      command: "vllm-omni serve stabilityai/stable-diffusion-3.5-large",
      vllm_version: "0.6.3",
      worker_id: GUIDE_WORKER_ID,
      execution_policy: "autoscaling",
      execution_policy_config: {
        min_workers: 1,
        max_workers: 4,
        workers: { source: "private", private_worker_ids: [GUIDE_WORKER_ID] },
      },
    });
    expect(wire.execution_policy_config).toBe(spec.executionPolicyConfig);
  });

  it("drops undefined fields", () => {
    // Prepare
    const spec: EnsureSpec = {
      name: "Bot",
      slug: "bot",
      model: "m",
      backend: "vllm",
      workerId: undefined,
      taskType: undefined,
    };

    // Act
    const wire = toWireSpec(spec);

    // Assess
    expect(wire).toEqual({ name: "Bot", slug: "bot", model: "m", backend: "vllm" });
  });

  it.each(Object.entries(GUIDE_SPECS))(
    "guide spec %s serialises to a wire spec the server's validator accepts",
    (_, spec) => {
      // Prepare
      const known = new Set(WORKLOAD_SPEC_FIELDS);

      // Act
      const wire = toWireSpec(spec);
      const normalised = validateSpec(wire);

      // Assess
      expect(Object.keys(wire).filter((key) => !known.has(key))).toEqual([]);
      expect(wire.execution_policy_config).toEqual(spec.executionPolicyConfig);
      expect(normalised.slug).toBe(spec.slug);
      expect(normalised.backend).toBe(spec.backend);
      if (spec.taskType !== undefined) expect(normalised.task_type).toBe(spec.taskType);
      if (spec.executionPolicy !== undefined) expect(normalised.execution_policy).toBe(spec.executionPolicy);
      if (spec.workerId !== undefined) expect(normalised.worker_id).toBe(spec.workerId);
    },
  );

  it("covers every modality and policy of the guide", () => {
    // Prepare
    const specs = Object.values(GUIDE_SPECS);

    // Act
    const taskTypes = new Set(specs.map((s) => s.taskType ?? "text2text"));
    const policies = new Set(specs.map((s) => s.executionPolicy ?? "fixed"));

    // Assess
    expect([...taskTypes].sort()).toEqual([
      "audio2text",
      "embedding",
      "reranker",
      "text2audio",
      "text2image",
      "text2text",
    ]);
    expect([...policies].sort()).toEqual(["autoscaling", "fixed", "scheduled"]);
  });
});

describe("EnsureSpec (types)", () => {
  it("accepts a spec spread from a base object whose taskType widened to string", () => {
    // Prepare
    const base = {
      name: "Billing",
      slug: "billing",
      model: "m",
      backend: Backend.Vllm,
      taskType: "embedding",
    };

    // Act
    const spec: EnsureSpec = { ...base, executionPolicy: "fixed", executionPolicyConfig: { replicas: 1 } };

    // Assess
    expectTypeOf(base.taskType).toEqualTypeOf<string>();
    expect(spec.taskType).toBe("embedding");
  });

  it("offers the literals and keeps the wire types of the core", () => {
    // Prepare
    type TaskTypeField = NonNullable<EnsureSpec["taskType"]>;

    // Act
    const literal: TaskTypeField = "text2text";

    // Assess
    expectTypeOf<"text2image">().toExtend<TaskTypeField>();
    expectTypeOf<"vllm-omni">().toExtend<EnsureSpec["backend"]>();
    expectTypeOf<EnsureSpec["name"]>().toEqualTypeOf<string>();
    expectTypeOf<EnsureSpec["workerId"]>().toEqualTypeOf<string | undefined>();
    expect(literal).toBe("text2text");
  });

  it("rejects wire names at the top level and unknown policy keys", () => {
    // Prepare
    const base = { name: "Bot", slug: "bot", model: "m", backend: Backend.Vllm };

    // Act
    const specs: EnsureSpec[] = [
      // @ts-expect-error top-level fields are camelCase in the SDK
      { ...base, task_type: "embedding" },
      // @ts-expect-error autoscaling bounds are min_workers / max_workers
      { ...base, executionPolicy: "autoscaling", executionPolicyConfig: { min_replicas: 0, max_workers: 2 } },
      // @ts-expect-error the guide never shows placement fields: they are the platform's concern
      { ...base, provider: "aws" },
    ];

    // Assess
    expect(specs).toHaveLength(3);
  });

  it("accepts readonly (as const) policy configs", () => {
    // Prepare
    const config = {
      min_workers: 0,
      max_workers: 2,
      max_hourly_cost_usd: 3,
      workers: { source: "cloud", cloud_pool: { gpu_pool: ["NVIDIA L4"] } },
    } as const;

    // Act
    const spec: EnsureSpec = {
      name: "Bot",
      slug: "bot",
      model: "m",
      backend: "vllm",
      executionPolicy: "autoscaling",
      executionPolicyConfig: config,
    };

    // Assess
    expect(toWireSpec(spec).execution_policy_config).toBe(config);
  });
});
