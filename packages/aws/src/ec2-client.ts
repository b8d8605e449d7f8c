import { EC2Client, type EC2ClientConfig } from "@aws-sdk/client-ec2";
import { SSMClient } from "@aws-sdk/client-ssm";

export interface Ec2ClientOptions {
  region?: string;
  /** Overrides the endpoint, e.g. moto server on `http://127.0.0.1:41235`. */
  endpoint?: string;
  /** Emulators need some credentials to sign with; on AWS leave unset (default provider chain). */
  credentials?: EC2ClientConfig["credentials"];
  /** Total tries per call, the first included. */
  maxAttempts?: number;
  connectionTimeoutMs?: number;
  requestTimeoutMs?: number;
}

/**
 * The controller calls EC2 inside a tick with a budget: a hung connection fails fast and is retried
 * (standard mode, with backoff). RunInstances can take several seconds to answer, hence the longer
 * request timeout than DynamoDB's; a retry after a lost answer is safe because every launch carries
 * its ClientToken.
 */
export const EC2_CLIENT_DEFAULTS = {
  maxAttempts: 3,
  connectionTimeoutMs: 2_000,
  requestTimeoutMs: 15_000,
} as const;

function commonConfig(options: Ec2ClientOptions) {
  return {
    ...(options.region === undefined ? {} : { region: options.region }),
    ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint }),
    ...(options.credentials === undefined ? {} : { credentials: options.credentials }),
    maxAttempts: options.maxAttempts ?? EC2_CLIENT_DEFAULTS.maxAttempts,
    retryMode: "standard",
    requestHandler: {
      connectionTimeout: options.connectionTimeoutMs ?? EC2_CLIENT_DEFAULTS.connectionTimeoutMs,
      requestTimeout: options.requestTimeoutMs ?? EC2_CLIENT_DEFAULTS.requestTimeoutMs,
      // Without this a breached requestTimeout only logs a warning and the call keeps waiting.
      throwOnRequestTimeout: true,
    },
  } as const;
}

/** The one way to build an EC2 client in this codebase. */
export function createEc2Client(options: Ec2ClientOptions = {}): EC2Client {
  return new EC2Client(commonConfig(options));
}

/** The one way to build an SSM client (the node image's public parameter), with the same budget. */
export function createSsmClient(options: Ec2ClientOptions = {}): SSMClient {
  return new SSMClient(commonConfig(options));
}
