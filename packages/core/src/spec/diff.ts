import type { WorkloadSpec } from "./schema";

export interface SpecDifference {
  /** Wire path of the changed field, e.g. `execution_policy_config.replicas`. */
  path: string;
  from: unknown;
  to: unknown;
}

/** Fields whose change alters what runs, so replicas must roll; `name` is the only one that does not. */
const ROLLING_FIELDS = new Set([
  "model",
  "backend",
  "task_type",
  "command",
  "vllm_version",
  "worker_id",
  "execution_policy",
  "execution_policy_config",
]);

/** Field-level differences between two normalised specs, leaves only, in a stable order. */
export function diffSpecs(stored: WorkloadSpec, requested: WorkloadSpec): SpecDifference[] {
  const out: SpecDifference[] = [];
  walk(stored, requested, "", out);
  return out;
}

function walk(a: unknown, b: unknown, path: string, out: SpecDifference[]): void {
  if (isPlainObject(a) && isPlainObject(b)) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
    for (const key of keys) walk(a[key], b[key], path === "" ? key : `${path}.${key}`, out);
    return;
  }
  if (JSON.stringify(a) !== JSON.stringify(b)) out.push({ path, from: a, to: b });
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/** True when the differences change what runs (so the generation's replicas roll). */
export function changesRuntime(differences: readonly SpecDifference[]): boolean {
  return differences.some((d) => ROLLING_FIELDS.has(d.path.split(".")[0] ?? ""));
}
