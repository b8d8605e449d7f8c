/** Everything the Lambda functions read from their environment, read in this one place. */
export interface LambdaEnvironment {
  tableName: string;
  serverSecret: string;
  region: string;
}

export function lambdaEnvironment(env: NodeJS.ProcessEnv = process.env): LambdaEnvironment {
  const missing = ["INFERENCEKEY_TABLE", "INFERENCEKEY_SERVER_SECRET"].filter((name) => !env[name]);
  if (missing.length > 0) throw new Error(`missing environment: ${missing.join(", ")} (set by infra/)`);
  return {
    tableName: env.INFERENCEKEY_TABLE as string,
    serverSecret: env.INFERENCEKEY_SERVER_SECRET as string,
    region: env.AWS_REGION ?? "us-east-1",
  };
}
