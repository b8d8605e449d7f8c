import { BACKENDS, EXECUTION_POLICIES, ON_DRIFT, TASK_TYPES } from "@inferencekey/core";

/**
 * Builds a frozen `{ MemberName: "wire-value" }` object whose values come from the core's tuple.
 * `names` must name every value, so a value added to the core fails to compile here until the
 * SDK gives it a member name.
 */
function namedValues<const V extends string, const N extends Record<V, string>>(
  values: readonly V[],
  names: N,
): { readonly [K in V as N[K]]: K } {
  return Object.freeze(Object.fromEntries(values.map((value) => [names[value], value]))) as {
    readonly [K in V as N[K]]: K;
  };
}

/**
 * The serving runtime of a workload. Text modalities run on `vllm`, `sglang` or `ollama`;
 * image and audio modalities on `vllm-omni`.
 *
 * @example
 * ```ts
 * import { Backend } from "@inferencekey/sdk";
 * await mgmt.ensure({ name: "Support bot", slug: "support-bot", model: "meta-llama/Llama-3.1-8B-Instruct", backend: Backend.Vllm });
 * ```
 */
export const Backend = namedValues(BACKENDS, {
  vllm: "Vllm",
  sglang: "Sglang",
  ollama: "Ollama",
  "vllm-omni": "VllmOmni",
});
/** One of the {@link Backend} values: `"vllm" | "sglang" | "ollama" | "vllm-omni"`. */
export type Backend = (typeof Backend)[keyof typeof Backend];

/**
 * The modality a workload serves (`task_type` on the wire; the server defaults it to `text2text`).
 *
 * @example
 * ```ts
 * import { Backend, TaskType } from "@inferencekey/sdk";
 * await mgmt.ensure({ name: "Billing embeddings", slug: "billing", model: "BAAI/bge-large-en-v1.5", backend: Backend.Vllm, taskType: TaskType.Embedding });
 * ```
 */
export const TaskType = namedValues(TASK_TYPES, {
  text2text: "Text2Text",
  embedding: "Embedding",
  text2image: "Text2Image",
  text2audio: "Text2Audio",
  audio2text: "Audio2Text",
  reranker: "Reranker",
  classification: "Classification",
  reward: "Reward",
  image2text: "Image2Text",
  image2image: "Image2Image",
  text2video: "Text2Video",
  image2video: "Image2Video",
});
/** One of the 12 {@link TaskType} values, e.g. `"text2text"` or `"embedding"`. */
export type TaskType = (typeof TaskType)[keyof typeof TaskType];

/**
 * When a workload runs: `fixed` (always on), `scheduled` (window or cron) or `autoscaling`
 * (worker count tracks load). The server defaults to `fixed`.
 *
 * @example
 * ```ts
 * import { Backend, ExecutionPolicy } from "@inferencekey/sdk";
 * await mgmt.ensure({
 *   name: "Support bot", slug: "support-bot", model: "meta-llama/Llama-3.1-8B-Instruct", backend: Backend.Vllm,
 *   executionPolicy: ExecutionPolicy.Scheduled,
 *   executionPolicyConfig: { window: "Mon-Fri 08:00-20:00 Europe/Madrid" },
 * });
 * ```
 */
export const ExecutionPolicy = namedValues(EXECUTION_POLICIES, {
  fixed: "Fixed",
  scheduled: "Scheduled",
  autoscaling: "Autoscaling",
});
/** One of the {@link ExecutionPolicy} values: `"fixed" | "scheduled" | "autoscaling"`. */
export type ExecutionPolicy = (typeof ExecutionPolicy)[keyof typeof ExecutionPolicy];

/**
 * What `ensure()` does when the stored spec differs from the requested one: `reconcile` (apply
 * it; the default), `fail` (throw a `DriftError`, change nothing) or `ignore` (keep the stored spec).
 *
 * @example
 * ```ts
 * import { DriftError, OnDrift } from "@inferencekey/sdk";
 * try {
 *   await mgmt.ensure(spec, { onDrift: OnDrift.Fail });
 * } catch (error) {
 *   if (error instanceof DriftError) console.log(error.details.map((d) => d.path));
 * }
 * ```
 */
export const OnDrift = namedValues(ON_DRIFT, {
  reconcile: "Reconcile",
  fail: "Fail",
  ignore: "Ignore",
});
/** One of the {@link OnDrift} values: `"reconcile" | "fail" | "ignore"`. */
export type OnDrift = (typeof OnDrift)[keyof typeof OnDrift];
