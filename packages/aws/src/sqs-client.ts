import { SQSClient, type SQSClientConfig } from "@aws-sdk/client-sqs";

export interface SqsClientOptions {
  region?: string;
  /** An emulator (moto server) instead of AWS. */
  endpoint?: string;
  /** Emulators need some credentials to sign with; on AWS leave unset (default provider chain). */
  credentials?: SQSClientConfig["credentials"];
  /** Total tries per call, the first included. */
  maxAttempts?: number;
  connectionTimeoutMs?: number;
  requestTimeoutMs?: number;
}

/**
 * Defaults for a Lambda with a short budget, as for DynamoDB: a hung connection or request fails
 * fast and is retried (standard mode, with backoff) instead of eating the whole invocation.
 */
export const SQS_CLIENT_DEFAULTS = {
  maxAttempts: 3,
  connectionTimeoutMs: 1_000,
  requestTimeoutMs: 3_000,
} as const;

/**
 * The one way to build the SDK's SQS client in this codebase: for tests and tools (creating queues,
 * reading them back). The Lambda functions' calls go through `sqsJsonClient` instead, whose load
 * costs almost nothing.
 */
export function createSqsClient(options: SqsClientOptions = {}): SQSClient {
  return new SQSClient({
    ...(options.region === undefined ? {} : { region: options.region }),
    ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint }),
    ...(options.credentials === undefined ? {} : { credentials: options.credentials }),
    maxAttempts: options.maxAttempts ?? SQS_CLIENT_DEFAULTS.maxAttempts,
    retryMode: "standard",
    requestHandler: {
      connectionTimeout: options.connectionTimeoutMs ?? SQS_CLIENT_DEFAULTS.connectionTimeoutMs,
      requestTimeout: options.requestTimeoutMs ?? SQS_CLIENT_DEFAULTS.requestTimeoutMs,
      // Without this a breached requestTimeout only logs a warning and the call keeps waiting.
      throwOnRequestTimeout: true,
    },
  });
}
