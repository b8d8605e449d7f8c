import type { PlatformContext } from "@inferencekey/core";
import { DynamoStore } from "./dynamo-store";

/**
 * What the Lambda functions read from their environment, read in this one place (the DynamoDB
 * client's region and endpoint are read by `awsConfigFromEnv`).
 */
export interface LambdaEnvironment {
  tableName: string;
  serverSecret: string;
}

export function lambdaEnvironment(env: NodeJS.ProcessEnv = process.env): LambdaEnvironment {
  const missing = ["INFERENCEKEY_TABLE", "INFERENCEKEY_SERVER_SECRET"].filter((name) => !env[name]);
  if (missing.length > 0) throw new Error(`missing environment: ${missing.join(", ")} (set by infra/)`);
  return {
    tableName: env.INFERENCEKEY_TABLE as string,
    serverSecret: env.INFERENCEKEY_SERVER_SECRET as string,
  };
}

/** The platform context every Lambda entry runs with: the DynamoDB table, the server secret, the wall clock. */
export function lambdaPlatformContext(env: NodeJS.ProcessEnv = process.env): PlatformContext {
  const { tableName, serverSecret } = lambdaEnvironment(env);
  return { store: new DynamoStore({ tableName }), serverSecret, now: () => new Date() };
}

/** What only the gateway function reads: both optional, and images asked for as URLs need both. */
export interface GatewayEnvironment {
  /** The S3 bucket for generated files (`INFERENCEKEY_BLOB_BUCKET`, with a lifecycle rule on `files/`). */
  blobBucket?: string;
  /** The deployment's public base URL (`INFERENCEKEY_PUBLIC_URL`), for the file URLs the gateway signs. */
  publicUrl?: string;
  /** An S3 emulator instead of AWS (`INFERENCEKEY_S3_ENDPOINT`, tests). */
  s3Endpoint?: string;
}

export function gatewayEnvironment(env: NodeJS.ProcessEnv = process.env): GatewayEnvironment {
  const read = (name: string) => env[name]?.trim() || undefined;
  const blobBucket = read("INFERENCEKEY_BLOB_BUCKET");
  const publicUrl = read("INFERENCEKEY_PUBLIC_URL");
  const s3Endpoint = read("INFERENCEKEY_S3_ENDPOINT");
  return {
    ...(blobBucket === undefined ? {} : { blobBucket }),
    ...(publicUrl === undefined ? {} : { publicUrl }),
    ...(s3Endpoint === undefined ? {} : { s3Endpoint }),
  };
}

/** What the controller functions read: the queue of project passes, when the tick fans out. */
export interface ControllerEnvironment {
  /** `INFERENCEKEY_CONTROLLER_QUEUE_URL`: set, the tick sends one message per project; unset, it reconciles everything itself. */
  queueUrl?: string;
  /** An SQS emulator instead of AWS (`INFERENCEKEY_SQS_ENDPOINT`, tests). */
  sqsEndpoint?: string;
}

export function controllerEnvironment(env: NodeJS.ProcessEnv = process.env): ControllerEnvironment {
  const queueUrl = env.INFERENCEKEY_CONTROLLER_QUEUE_URL?.trim() || undefined;
  const sqsEndpoint = env.INFERENCEKEY_SQS_ENDPOINT?.trim() || undefined;
  return { ...(queueUrl === undefined ? {} : { queueUrl }), ...(sqsEndpoint === undefined ? {} : { sqsEndpoint }) };
}
