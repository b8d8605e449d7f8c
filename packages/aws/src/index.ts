export {
  type AwsConfig,
  awsConfigFromEnv,
  createDynamoDocumentClient,
  DYNAMO_CLIENT_DEFAULTS,
  type DynamoClientOptions,
  dynamoClientOptionsFromConfig,
} from "./dynamo-client";
export { DynamoStore, type DynamoStoreOptions, GSI1_NAME, TTL_ATTRIBUTE } from "./dynamo-store";
export { createTableInput, ensureTable } from "./dynamo-table";
export {
  type DynamoDocumentApi,
  type DynamoDocumentOperations,
  type DynamoOperation,
  httpDynamoDocumentApi,
  type HttpDynamoDocumentApiOptions,
} from "./dynamo-document-api";
export { sdkDynamoDocumentApi } from "./dynamo-sdk-api";
export {
  AWS_JSON_CLIENT_DEFAULTS,
  AWS_JSON_SERVICES,
  AwsJsonClient,
  type AwsJsonClientOptions,
  type AwsJsonService,
  AwsServiceError,
  credentialsFromEnv,
} from "./aws-json-client";
export { type AwsCredentials, signRequest } from "./sigv4";
export {
  AWS_LIMITS,
  DEPLOY_REGION,
  FUNCTION_ENV,
  isOriginHeaderValid,
  LAMBDA_BUNDLE,
  LAMBDA_BUNDLE_BUDGET,
  LAMBDA_MIN_UNRESERVED,
  ORIGIN_HEADER,
  originHeaderValue,
  PLATFORM_SERVICES,
  parseReservedConcurrency,
  ROUTER_ROUTES,
  type RouterTarget,
  reservedConcurrencyProblems,
  routeForPath,
  routerViewerRequestInjection,
  worstCaseFirstByteSeconds,
} from "./deployment";
export {
  type ControllerEnvironment,
  controllerEnvironment,
  type GatewayEnvironment,
  gatewayEnvironment,
  type LambdaEnvironment,
  lambdaEnvironment,
  lambdaPlatformContext,
  ServerSecretHolder,
} from "./env";
export { functionUrlResultFromResponse, requestFromFunctionUrlEvent } from "./lambda-http";
export { createS3Client, S3BlobStore, type S3BlobStoreOptions, type S3ClientOptions } from "./s3-blob-store";
export { projectTickOf } from "./project-tick";
export { awsGatewayLimits } from "./lambda-gateway";
export { type ResponseChunksOptions, responseBodyChunks, SSE_KEEP_ALIVE } from "./lambda-stream";
export { SsmParameter, SsmParameterError, type SsmParameterOptions } from "./ssm-parameter";
export { lambdaConsoleAssets } from "./console-assets";
export { createEc2Client, createSsmClient, EC2_CLIENT_DEFAULTS, type Ec2ClientOptions } from "./ec2-client";
export {
  Ec2NodeProvider,
  type Ec2NodeProviderOptions,
  launchClientToken,
  NODE_TAGS,
  type NodeSubnet,
  quotaName,
} from "./ec2-node-provider";
export { DEEP_LEARNING_BASE_AMI_LINES, type NodeImageLine, type NodeImageResolver, ssmNodeImageResolver } from "./node-image";
export { NODE_22_PACKAGE, type NodeUserDataInput, renderNodeUserData, USER_DATA_LIMIT_BYTES } from "./node-user-data";
export { ec2NodeProviderFromConfig, type NodePoolConfig, nodePoolConfigFromEnv, subnetsWithZones } from "./node-pool-config";
export { cloudComputeFromEnv } from "./cloud-compute";
export { SqsProjectDispatcher } from "./sqs-project-dispatcher";
export { createEventBridgeClient, EVENTBRIDGE_CLIENT_DEFAULTS, type EventBridgeClientOptions } from "./eventbridge-client";
export {
  EVENT_ENTRY_MAX_BYTES,
  EventBridgePublisher,
  eventEntrySize,
  LIFECYCLE_ENTRY_MAX_BYTES,
  LIFECYCLE_EVENT_SOURCE,
  lifecycleEventEntry,
  PUT_EVENTS_MAX_ENTRIES,
  type PutEventsRequestEntry,
} from "./eventbridge-publisher";
export { blobInputPointerLoader } from "./job-input-pointer";
export { JOBS_BLOB_PREFIX, jobsBlobStoreFromEnv } from "./jobs-blob-store";
export { jobConsumerDeps } from "./jobs-env";
export {
  eventPublisherFromEnv,
  type JobsEnvironment,
  jobsBlobStoreOnFirstUse,
  jobsEnvironment,
  jobsFromEnv,
  sqsJobQueueFromEnv,
} from "./jobs-from-env";
export { JOBS_ENV, JOBS_QUEUE_SETTINGS } from "./jobs-settings";
export { createSqsClient, SQS_CLIENT_DEFAULTS, type SqsClientOptions } from "./sqs-client";
export {
  batchFailureLogger,
  DEFERRED_DELAY_SECONDS,
  RetryLaterError,
  receiveCountOf,
  retryDelaySeconds,
  type SqsJobBatchDeps,
  settleJobBatch,
} from "./sqs-job-consumer";
export { SQS_MAX_DELAY_SECONDS, SQS_MAX_MESSAGE_BYTES, SqsJobQueue } from "./sqs-job-queue";
export { type AwsJsonCaller, sqsBodyMd5, sqsJsonClient, type SqsJsonClientOptions } from "./sqs-json-client";
