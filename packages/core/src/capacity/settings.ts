import { ValidationError } from "../errors";

/**
 * The deployment's shared-capacity settings: the deployment-wide ceiling (dollars per hour and
 * instances, counting every instance it owns in any state, used or not) and the timings of the
 * pool reconciler. Read from the environment by `parseCapacitySettings`.
 */
export interface CapacitySettings {
  /** Prices are read for this region. */
  region: string;
  /** Bound on the sum of the prices of every owned instance (pending, running, terminating, unknown). */
  maxHourlyCostUsd: number;
  /** Bound on the number of owned instances in those states. */
  maxInstances: number;
  /** Zones to launch in when the provider cannot list offerings. */
  availabilityZones: string[];
  /** A node whose agent has not registered this long after launch is terminated and replaced (default 20 min). */
  nodeReadyTimeoutMs: number;
  /** An empty node is terminated after this long (default 10 min). */
  emptyNodeGraceMs: number;
  /** An instance with our tags unknown to the store is terminated once this old (default 15 min). */
  orphanGraceMs: number;
  /** An offering (type, AZ) that could not be filled is skipped for this long (default 10 min). */
  unavailableOfferingMs: number;
  /** After a quota refusal, that instance type is not tried for this long (default 30 min). */
  quotaBackoffMs: number;
  /** Boot time assumed before any node of a type was seen booting (default 10 min). */
  defaultBootMs: number;
  /** The pool reconciler runs at most this often (default 10 s): it lists the cloud's instances, and `npm start` ticks every 2 s. */
  poolIntervalMs: number;
}

export const CAPACITY_SETTINGS_ENV = {
  region: "INFERENCEKEY_CLOUD_REGION",
  maxHourlyCostUsd: "INFERENCEKEY_CLOUD_MAX_HOURLY_COST_USD",
  maxInstances: "INFERENCEKEY_CLOUD_MAX_INSTANCES",
  availabilityZones: "INFERENCEKEY_CLOUD_AVAILABILITY_ZONES",
  nodeReadyTimeoutMinutes: "INFERENCEKEY_NODE_READY_TIMEOUT_MINUTES",
  emptyNodeGraceMinutes: "INFERENCEKEY_EMPTY_NODE_GRACE_MINUTES",
  orphanGraceMinutes: "INFERENCEKEY_ORPHAN_GRACE_MINUTES",
} as const;

const MINUTE = 60_000;

export const DEFAULT_CAPACITY_SETTINGS: CapacitySettings = {
  region: "us-east-1",
  maxHourlyCostUsd: 100,
  maxInstances: 10,
  availabilityZones: [],
  nodeReadyTimeoutMs: 20 * MINUTE,
  emptyNodeGraceMs: 10 * MINUTE,
  orphanGraceMs: 15 * MINUTE,
  unavailableOfferingMs: 10 * MINUTE,
  quotaBackoffMs: 30 * MINUTE,
  defaultBootMs: 10 * MINUTE,
  poolIntervalMs: 10_000,
};

/** Settings from the environment (names in CAPACITY_SETTINGS_ENV), defaults for what is unset; a bad value is a ValidationError naming it. */
export function parseCapacitySettings(env: Record<string, string | undefined>): CapacitySettings {
  const number = (name: string, fallback: number, integer: boolean, min: number): number => {
    const text = env[name];
    if (text === undefined || text.trim() === "") return fallback;
    const value = Number(text);
    if (!Number.isFinite(value) || value < min || (integer && !Number.isInteger(value))) {
      throw new ValidationError(`${name} is invalid.`, [
        { path: name, message: `expected ${integer ? "an integer" : "a number"} of at least ${min}`, received: text.slice(0, 64) },
      ]);
    }
    return value;
  };
  const zones = (env[CAPACITY_SETTINGS_ENV.availabilityZones] ?? "")
    .split(",")
    .map((z) => z.trim())
    .filter((z) => z.length > 0);
  const region = env[CAPACITY_SETTINGS_ENV.region]?.trim() || env.AWS_REGION?.trim() || DEFAULT_CAPACITY_SETTINGS.region;
  return {
    ...DEFAULT_CAPACITY_SETTINGS,
    region,
    maxHourlyCostUsd: number(CAPACITY_SETTINGS_ENV.maxHourlyCostUsd, DEFAULT_CAPACITY_SETTINGS.maxHourlyCostUsd, false, 0),
    maxInstances: number(CAPACITY_SETTINGS_ENV.maxInstances, DEFAULT_CAPACITY_SETTINGS.maxInstances, true, 0),
    availabilityZones: zones,
    nodeReadyTimeoutMs: number(CAPACITY_SETTINGS_ENV.nodeReadyTimeoutMinutes, 20, false, 1) * MINUTE,
    emptyNodeGraceMs: number(CAPACITY_SETTINGS_ENV.emptyNodeGraceMinutes, 10, false, 0) * MINUTE,
    orphanGraceMs: number(CAPACITY_SETTINGS_ENV.orphanGraceMinutes, 15, false, 1) * MINUTE,
  };
}
