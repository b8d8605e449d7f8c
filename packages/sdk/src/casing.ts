/**
 * camelCase <-> snake_case for object keys, at the type level and at run time, so SDK shapes are
 * derived from the wire types in `@inferencekey/core` instead of being copied by hand.
 */

/** `"rate_limit_per_minute"` -> `"rateLimitPerMinute"`. */
export type CamelCase<S extends string> = S extends `${infer Head}_${infer Tail}`
  ? `${Head}${Capitalize<CamelCase<Tail>>}`
  : S;

/** Top-level keys renamed to camelCase; values (and their keys) untouched. Optionality is kept. */
export type CamelKeys<T> = { [K in keyof T as K extends string ? CamelCase<K> : K]: T[K] };

/** Flattens intersections so editors show one object type. */
export type Simplify<T> = { [K in keyof T]: T[K] } & {};

/**
 * `"rate_limit_per_minute"` -> `"rateLimitPerMinute"`.
 *
 * @example
 * ```ts
 * toCamelCase("token_last4"); // "tokenLast4"
 * ```
 */
export function toCamelCase(key: string): string {
  return key.replace(/_([a-z0-9])/g, (_, next: string) => next.toUpperCase());
}

/**
 * `"executionPolicyConfig"` -> `"execution_policy_config"`. Keys already in snake_case pass through.
 *
 * @example
 * ```ts
 * toSnakeCase("vllmVersion"); // "vllm_version"
 * ```
 */
export function toSnakeCase(key: string): string {
  return key.replace(/[A-Z]/g, (upper) => `_${upper.toLowerCase()}`);
}

/**
 * A shallow copy with top-level keys in camelCase. Nested objects keep their keys: they are either
 * user data (worker labels) or wire documents (a workload's `spec`).
 *
 * @example
 * ```ts
 * camelKeys({ created_at: "2025-01-01T00:00:00Z", labels: { gpu_kind: "a100" } });
 * // { createdAt: "2025-01-01T00:00:00Z", labels: { gpu_kind: "a100" } }
 * ```
 */
export function camelKeys<T extends object>(value: T): CamelKeys<T> {
  const out: Record<string, unknown> = {};
  for (const [key, inner] of Object.entries(value)) out[toCamelCase(key)] = inner;
  return out as CamelKeys<T>;
}

/**
 * A shallow copy with top-level keys in snake_case, dropping `undefined` values.
 *
 * @example
 * ```ts
 * snakeKeys({ rateLimitPerMinute: 60, expiresAt: undefined }); // { rate_limit_per_minute: 60 }
 * ```
 */
export function snakeKeys(value: object): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, inner] of Object.entries(value)) {
    if (inner !== undefined) out[toSnakeCase(key)] = inner;
  }
  return out;
}
