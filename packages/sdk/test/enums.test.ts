import {
  BACKENDS,
  type BackendName,
  EXECUTION_POLICIES,
  ON_DRIFT,
  TASK_TYPES,
  type TaskTypeName,
} from "@inferencekey/core";
import { describe, expect, expectTypeOf, it } from "vitest";
import { Backend, ExecutionPolicy, OnDrift, TaskType } from "../src/enums";

describe("enums", () => {
  it("Backend names every core backend with the guide's member names", () => {
    // Prepare
    const expected = { Vllm: "vllm", Sglang: "sglang", Ollama: "ollama", VllmOmni: "vllm-omni" };

    // Act
    const values = Object.values(Backend);

    // Assess
    expect(Backend).toEqual(expected);
    expect(values.sort()).toEqual([...BACKENDS].sort());
    expectTypeOf(Backend.Vllm).toEqualTypeOf<"vllm">();
    expectTypeOf(Backend.VllmOmni).toEqualTypeOf<"vllm-omni">();
    expectTypeOf<Backend>().toEqualTypeOf<BackendName>();
  });

  it("TaskType covers all 12 modalities of the core", () => {
    // Prepare
    const coreValues = [...TASK_TYPES].sort();

    // Act
    const values = Object.values(TaskType).sort();

    // Assess
    expect(values).toHaveLength(12);
    expect(values).toEqual(coreValues);
    expect(TaskType.Text2Text).toBe("text2text");
    expect(TaskType.Audio2Text).toBe("audio2text");
    expect(TaskType.Image2Video).toBe("image2video");
    expectTypeOf<TaskType>().toEqualTypeOf<TaskTypeName>();
  });

  it("ExecutionPolicy and OnDrift mirror the core's values", () => {
    // Prepare
    const policies = [...EXECUTION_POLICIES].sort();
    const drift = [...ON_DRIFT].sort();

    // Act
    const policyValues = Object.values(ExecutionPolicy).sort();
    const driftValues = Object.values(OnDrift).sort();

    // Assess
    expect(policyValues).toEqual(policies);
    expect(driftValues).toEqual(drift);
    expect(ExecutionPolicy).toEqual({ Fixed: "fixed", Scheduled: "scheduled", Autoscaling: "autoscaling" });
    expect(OnDrift).toEqual({ Reconcile: "reconcile", Fail: "fail", Ignore: "ignore" });
    expectTypeOf(OnDrift.Fail).toEqualTypeOf<"fail">();
  });

  it("are frozen at run time", () => {
    // Prepare
    const objects = [Backend, TaskType, ExecutionPolicy, OnDrift];

    // Act
    const frozen = objects.map((o) => Object.isFrozen(o));

    // Assess
    expect(frozen).toEqual([true, true, true, true]);
  });
});
