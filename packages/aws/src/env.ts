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
