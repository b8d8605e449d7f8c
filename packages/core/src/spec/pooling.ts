import type { BackendName, TaskTypeName } from "./modalities";

/**
 * Async (pooling) task types on vLLM and sglang: how their default commands start the backend as a
 * pooling model, and what a guide-era command with vLLM's removed `--task score` should say instead.
 * vLLM replaced `--task` with `--runner pooling --convert ...` in 0.10 and removed the `score` task
 * in 0.20; sglang serves pooling models with `--is-embedding`.
 */
export const POOLING_TASK_TYPES: readonly TaskTypeName[] = ["reranker", "classification", "reward"];

/** vLLM's `--convert` per task type (a cross-encoder reranker is a sequence classifier). */
export const VLLM_CONVERT: Readonly<Record<string, "classify" | "reward">> = {
  reranker: "classify",
  classification: "classify",
  reward: "reward",
};
/** vLLM's pre-0.10 `--task` per task type. */
const VLLM_TASK: Readonly<Record<string, string>> = { reranker: "score", classification: "classify", reward: "reward" };

/** True for a vllm_version below 0.10 (`--task` era); false when unknown or newer. */
export function vllmBefore010(version: string | undefined): boolean {
  const match = version === undefined ? null : /^(\d+)\.(\d+)/.exec(version);
  if (match === null) return false;
  return Number(match[1]) === 0 && Number(match[2]) < 10;
}

/** The flags a default command adds for a pooling task type, or "" for other task types and backends. */
export function poolingFlags(backend: BackendName, taskType: TaskTypeName, vllmVersion?: string): string {
  if (!POOLING_TASK_TYPES.includes(taskType)) return "";
  if (backend === "sglang") return " --is-embedding";
  if (backend !== "vllm") return "";
  return vllmBefore010(vllmVersion) ? ` --task ${VLLM_TASK[taskType]}` : ` --runner pooling --convert ${VLLM_CONVERT[taskType]}`;
}

/** `--task score` (or `--task=score`) as a word of a command. Linear: fixed words, one optional `=`. */
const TASK_SCORE = /(?:^|\s)--task(?:=|\s+)score(?=\s|$)/;

/**
 * Warnings about a spec that is accepted but uses something deprecated, each naming the
 * replacement (shown in the workload's status).
 */
export function specWarnings(spec: { backend: string; task_type: string; command: string; vllm_version?: string }): string[] {
  const warnings: string[] = [];
  if (spec.backend === "vllm" && TASK_SCORE.test(spec.command) && !vllmBefore010(spec.vllm_version)) {
    warnings.push(
      `command uses --task score, deprecated in vLLM 0.10 and removed in 0.20: use --runner pooling --convert classify ` +
        `(e.g. "vllm serve <model> --runner pooling --convert classify"), or pin vllm_version below 0.20`,
    );
  }
  return warnings;
}
