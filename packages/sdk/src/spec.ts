import type {
  AutoscalingConfigInput,
  FixedConfigInput,
  ScheduledConfigInput,
  WorkloadSpec as WireWorkloadSpec,
  WorkloadSpecInput,
} from "@inferencekey/core";
import { type CamelCase, type Simplify, snakeKeys, toCamelCase, toSnakeCase } from "./casing";

/**
 * A closed set of string literals that still accepts any string: editors offer the literals, and
 * a value widened to `string` (e.g. `taskType` in a `const base = {...}` object) still type-checks.
 * The server validates the value and answers with a `ValidationError` naming the accepted ones.
 *
 * @example
 * ```ts
 * const policy: OpenLiteral<"fixed" | "scheduled"> = "fixed"; // editors suggest "fixed" and "scheduled"
 * const widened: OpenLiteral<"fixed" | "scheduled"> = String(process.env.POLICY); // any string compiles
 * ```
 */
export type OpenLiteral<T extends string> = T | (string & {});

/** Literal unions become open; plain `string`, numbers and `undefined` stay as they are. */
type Opened<V> = V extends string ? (string extends V ? V : OpenLiteral<V>) : V;

/** Accepts `as const` data too: readonly arrays and properties, at any depth. */
type ReadonlyDeep<T> = T extends readonly (infer Item)[]
  ? readonly ReadonlyDeep<Item>[]
  : T extends object
    ? { readonly [K in keyof T]: ReadonlyDeep<T[K]> }
    : T;

/**
 * `execution_policy_config` for the `fixed` policy, in wire (snake_case) keys.
 *
 * @example
 * ```ts
 * const config: FixedPolicyConfig = { replicas: 2 };
 * ```
 */
export type FixedPolicyConfig = ReadonlyDeep<FixedConfigInput>;

/**
 * `execution_policy_config` for the `scheduled` policy: exactly one of `window` or `cron`.
 *
 * @example
 * ```ts
 * const nightly: ScheduledPolicyConfig = { cron: "0 2 * * *", timezone: "Europe/Madrid" };
 * const daytime: ScheduledPolicyConfig = { window: "Mon-Fri 08:00-20:00 Europe/Madrid" };
 * ```
 */
export type ScheduledPolicyConfig = ReadonlyDeep<ScheduledConfigInput>;

/**
 * `execution_policy_config` for the `autoscaling` policy. Worker bounds are `min_workers` /
 * `max_workers`; cloud workers need `max_hourly_cost_usd`.
 *
 * @example
 * ```ts
 * const config: AutoscalingPolicyConfig = {
 *   min_workers: 0,
 *   max_workers: 3,
 *   max_hourly_cost_usd: 5.0,
 *   workers: { source: "cloud", cloud_pool: { gpu_pool: ["NVIDIA A100-SXM4-80GB"] } },
 * };
 * ```
 */
export type AutoscalingPolicyConfig = ReadonlyDeep<AutoscalingConfigInput>;

/**
 * Any policy's config. Which one applies is decided by `executionPolicy`; the server checks the
 * pairing (a literal-typed discriminated union would reject a `executionPolicy` widened to `string`).
 *
 * @example
 * ```ts
 * const config: ExecutionPolicyConfig = { replicas: 1 };
 * ```
 */
export type ExecutionPolicyConfig = FixedPolicyConfig | ScheduledPolicyConfig | AutoscalingPolicyConfig;

type WireTopLevel = Omit<WorkloadSpecInput, "execution_policy_config">;

/**
 * What `ensure()` takes: the wire spec (`WorkloadSpecInput` of `@inferencekey/core`) with
 * top-level names in camelCase (`taskType`, `executionPolicy`, `executionPolicyConfig`,
 * `workerId`, `vllmVersion`). Keys inside `executionPolicyConfig` stay in wire snake_case
 * (`min_workers`, `cloud_pool`), exactly as the guide writes them.
 *
 * `backend`, `taskType` and `executionPolicy` accept their literals (see {@link Backend},
 * {@link TaskType}, {@link ExecutionPolicy}) or any string, so a spec assembled from a widened
 * `base` object still compiles; the server validates it.
 *
 * @example
 * ```ts
 * import { Backend, type EnsureSpec } from "@inferencekey/sdk";
 *
 * const spec: EnsureSpec = {
 *   name: "Billing embeddings",
 *   slug: "billing",
 *   model: "BAAI/bge-large-en-v1.5",
 *   backend: Backend.Vllm,
 *   taskType: "embedding",
 *   executionPolicy: "scheduled",
 *   executionPolicyConfig: { cron: "0 2 * * *" },
 * };
 * ```
 */
export type EnsureSpec = Simplify<
  { [K in keyof WireTopLevel as CamelCase<K & string>]: Opened<WireTopLevel[K]> } & {
    executionPolicyConfig?: ExecutionPolicyConfig | undefined;
  }
>;

/**
 * Alias of {@link EnsureSpec}: the name the guide and the Python SDK use for a declared workload.
 *
 * @example
 * ```ts
 * import { Backend, type WorkloadSpec } from "@inferencekey/sdk";
 * const spec: WorkloadSpec = { name: "Support bot", slug: "support-bot", model: "meta-llama/Llama-3.1-8B-Instruct", backend: Backend.Vllm };
 * ```
 */
export type WorkloadSpec = EnsureSpec;

/**
 * The spec as the server stores and returns it (`workload.spec`): wire snake_case, every default
 * filled in. It stays in wire names because `differences[].path` and error `details[].path` point
 * into it (`execution_policy_config.replicas`).
 *
 * @example
 * ```ts
 * const workload = await mgmt.get("support-bot");
 * const stored: NormalizedWorkloadSpec = workload.spec;
 * console.log(stored.task_type, stored.execution_policy);
 * ```
 */
export type NormalizedWorkloadSpec = WireWorkloadSpec;

/**
 * The JSON body `PUT /v1/projects/{project}/workloads/{slug}` expects: top-level keys in
 * snake_case, `execution_policy_config` passed through verbatim (its keys are already wire
 * names), `undefined` fields dropped.
 *
 * @example
 * ```ts
 * toWireSpec({ name: "Bot", slug: "bot", model: "m", backend: "vllm", workerId: "wrk_7Yc2abcd" });
 * // { name: "Bot", slug: "bot", model: "m", backend: "vllm", worker_id: "wrk_7Yc2abcd" }
 * ```
 */
export function toWireSpec(spec: EnsureSpec): Record<string, unknown> {
  return snakeKeys(spec);
}

/**
 * A wire error path in the names the caller wrote: its top-level segment becomes the key of `spec`
 * that serialises to it (`execution_policy_config.min_workers` -> `executionPolicyConfig.min_workers`);
 * deeper segments stay, since `executionPolicyConfig` is sent as written. A field the caller did not
 * write gets the SDK's camelCase name (`task_type` -> `taskType`).
 *
 * @example
 * ```ts
 * callerPath("execution_policy_config.min_replicas", { executionPolicyConfig: {} }); // "executionPolicyConfig.min_replicas"
 * callerPath("workers[0]", {}); // "workers[0]"
 * ```
 */
export function callerPath(wirePath: string, spec: object): string {
  const end = wirePath.search(/[.[]/);
  const head = end < 0 ? wirePath : wirePath.slice(0, end);
  const written = Object.keys(spec).find((key) => toSnakeCase(key) === head);
  return `${written ?? toCamelCase(head)}${end < 0 ? "" : wirePath.slice(end)}`;
}
