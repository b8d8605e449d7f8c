/**
 * Where the AWS adapters talk to; read from the environment in one place (`awsConfigFromEnv`).
 * Apart from the SDK clients (nothing is imported here), so a Lambda entry that reads its
 * configuration does not load a client it never uses.
 */
export interface AwsConfig {
  /** Unset: the SDK resolves it itself (shared config profile), as it does for credentials. */
  region?: string;
  /** Overrides the DynamoDB endpoint, e.g. an emulator on `http://127.0.0.1:4567`. */
  dynamodbEndpoint?: string;
}

export function awsConfigFromEnv(env: NodeJS.ProcessEnv = process.env): AwsConfig {
  const region = env.AWS_REGION?.trim();
  const endpoint = env.INFERENCEKEY_DYNAMODB_ENDPOINT?.trim();
  return {
    ...(region ? { region } : {}),
    ...(endpoint ? { dynamodbEndpoint: endpoint } : {}),
  };
}
