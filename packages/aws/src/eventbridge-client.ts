import { EventBridgeClient, type EventBridgeClientConfig } from "@aws-sdk/client-eventbridge";

export interface EventBridgeClientOptions {
  region?: string;
  /** An emulator (moto server) instead of AWS. */
  endpoint?: string;
  /** Emulators need some credentials to sign with; on AWS leave unset (default provider chain). */
  credentials?: EventBridgeClientConfig["credentials"];
  /** Total tries per call, the first included. */
  maxAttempts?: number;
  connectionTimeoutMs?: number;
  requestTimeoutMs?: number;
}

/** Same budget as the other clients: fail fast on a hung connection, retry with backoff. */
export const EVENTBRIDGE_CLIENT_DEFAULTS = {
  maxAttempts: 3,
  connectionTimeoutMs: 1_000,
  requestTimeoutMs: 3_000,
} as const;

/**
 * The one way to build the SDK's EventBridge client in this codebase: for tests and tools (creating
 * buses and rules). The Lambda functions publish through `AwsJsonClient` instead, whose load costs
 * almost nothing.
 */
export function createEventBridgeClient(options: EventBridgeClientOptions = {}): EventBridgeClient {
  return new EventBridgeClient({
    ...(options.region === undefined ? {} : { region: options.region }),
    ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint }),
    ...(options.credentials === undefined ? {} : { credentials: options.credentials }),
    maxAttempts: options.maxAttempts ?? EVENTBRIDGE_CLIENT_DEFAULTS.maxAttempts,
    retryMode: "standard",
    requestHandler: {
      connectionTimeout: options.connectionTimeoutMs ?? EVENTBRIDGE_CLIENT_DEFAULTS.connectionTimeoutMs,
      requestTimeout: options.requestTimeoutMs ?? EVENTBRIDGE_CLIENT_DEFAULTS.requestTimeoutMs,
      throwOnRequestTimeout: true,
    },
  });
}
