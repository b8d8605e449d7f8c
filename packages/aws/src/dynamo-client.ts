import { DynamoDBClient, type DynamoDBClientConfig } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import type { AwsConfig } from "./aws-config";

export { type AwsConfig, awsConfigFromEnv } from "./aws-config";

export interface DynamoClientOptions {
  region?: string;
  endpoint?: string;
  /** Emulators need some credentials to sign with; on AWS leave unset (default provider chain). */
  credentials?: DynamoDBClientConfig["credentials"];
  /** Total tries per call, the first included. */
  maxAttempts?: number;
  connectionTimeoutMs?: number;
  requestTimeoutMs?: number;
}

/**
 * Defaults fit a Lambda with a short budget: a hung connection or request fails fast and is
 * retried (standard mode, with backoff) instead of eating the whole invocation.
 */
export const DYNAMO_CLIENT_DEFAULTS = {
  maxAttempts: 3,
  connectionTimeoutMs: 1_000,
  requestTimeoutMs: 3_000,
} as const;

/** The one way to build a DynamoDB client in this codebase. */
export function createDynamoDocumentClient(options: DynamoClientOptions): DynamoDBDocumentClient {
  const client = new DynamoDBClient({
    ...(options.region === undefined ? {} : { region: options.region }),
    ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint }),
    ...(options.credentials === undefined ? {} : { credentials: options.credentials }),
    maxAttempts: options.maxAttempts ?? DYNAMO_CLIENT_DEFAULTS.maxAttempts,
    retryMode: "standard",
    requestHandler: {
      connectionTimeout: options.connectionTimeoutMs ?? DYNAMO_CLIENT_DEFAULTS.connectionTimeoutMs,
      requestTimeout: options.requestTimeoutMs ?? DYNAMO_CLIENT_DEFAULTS.requestTimeoutMs,
      // Without this a breached requestTimeout only logs a warning and the call keeps waiting.
      throwOnRequestTimeout: true,
    },
  });
  return DynamoDBDocumentClient.from(client, {
    // Store data is JSON-shaped: drop `undefined` fields as JSON.stringify would, rather than throw.
    marshallOptions: { removeUndefinedValues: true },
  });
}

export function dynamoClientOptionsFromConfig(config: AwsConfig): DynamoClientOptions {
  return {
    ...(config.region === undefined ? {} : { region: config.region }),
    ...(config.dynamodbEndpoint === undefined ? {} : { endpoint: config.dynamodbEndpoint }),
  };
}
