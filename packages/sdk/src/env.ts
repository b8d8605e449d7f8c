/**
 * The one place the SDK reads the process environment. Everything else takes explicit options,
 * so a client built with `new ManagementClient({...})` never depends on ambient state.
 */

/**
 * Names of the environment variables the SDK reads.
 *
 * @example
 * ```ts
 * import { ENV_VARS } from "@inferencekey/sdk";
 * if (!process.env[ENV_VARS.sdkToken]) console.error(`set ${ENV_VARS.sdkToken}`);
 * ```
 */
export const ENV_VARS = {
  /** The `ik_sdk_` control token used by `ManagementClient`. */
  sdkToken: "INFERENCEKEY_SDK_TOKEN",
  /** The API origin; defaults to {@link DEFAULT_BASE_URL}. */
  baseUrl: "INFERENCEKEY_BASE_URL",
  /** The project of `ManagementClient.fromEnv()` and `DataClient.fromEnv()` when none is passed. */
  project: "INFERENCEKEY_PROJECT",
  /** The `ik_live_` data key of `data.endpoint(slug)` when `DataClient.fromEnv()` built the client and no `apiKey` is passed. */
  apiKey: "INFERENCEKEY_API_KEY",
} as const;

/**
 * The hosted API, used when `INFERENCEKEY_BASE_URL` is unset or empty.
 *
 * @example
 * ```ts
 * import { DEFAULT_BASE_URL, ManagementClient } from "@inferencekey/sdk";
 * const mgmt = new ManagementClient({ token: "ik_sdk_...", project: "acme", baseUrl: DEFAULT_BASE_URL });
 * ```
 */
export const DEFAULT_BASE_URL = "https://api.inferencekey.com";

/** What the environment says, after defaults. Unset or blank variables are undefined. */
export interface SdkEnvironment {
  token: string | undefined;
  baseUrl: string;
  project: string | undefined;
  apiKey: string | undefined;
}

/** A source of variables: `process.env` by default; tests pass a plain object. */
export type EnvSource = Readonly<Record<string, string | undefined>>;

function processEnv(): EnvSource {
  // `process` is absent in browsers and some edge runtimes: treat that as an empty environment.
  const proc = (globalThis as { process?: { env?: EnvSource } }).process;
  return proc?.env ?? {};
}

function nonBlank(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed === undefined || trimmed === "" ? undefined : trimmed;
}

/**
 * Reads `INFERENCEKEY_SDK_TOKEN`, `INFERENCEKEY_BASE_URL` (default `https://api.inferencekey.com`),
 * `INFERENCEKEY_PROJECT` and `INFERENCEKEY_API_KEY`. Blank values count as unset.
 *
 * @example
 * ```ts
 * const { token, baseUrl } = readEnvironment({ INFERENCEKEY_SDK_TOKEN: "ik_sdk_..." });
 * // baseUrl === "https://api.inferencekey.com"
 * ```
 */
export function readEnvironment(source: EnvSource = processEnv()): SdkEnvironment {
  return {
    token: nonBlank(source[ENV_VARS.sdkToken]),
    baseUrl: nonBlank(source[ENV_VARS.baseUrl]) ?? DEFAULT_BASE_URL,
    project: nonBlank(source[ENV_VARS.project]),
    apiKey: nonBlank(source[ENV_VARS.apiKey]),
  };
}
