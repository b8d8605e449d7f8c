export {
  type AwsConfig,
  awsConfigFromEnv,
  createDynamoDocumentClient,
  DYNAMO_CLIENT_DEFAULTS,
  type DynamoClientOptions,
  dynamoClientOptionsFromConfig,
} from "./dynamo-client";
export {
  createTableInput,
  DynamoStore,
  type DynamoStoreOptions,
  ensureTable,
  GSI1_NAME,
  TTL_ATTRIBUTE,
} from "./dynamo-store";
export { type LambdaEnvironment, lambdaEnvironment, lambdaPlatformContext } from "./env";
export { functionUrlResultFromResponse, requestFromFunctionUrlEvent } from "./lambda-http";
