/**
 * Every environment variable infra/ gives a platform function, with values of the right shape, for
 * tests that load an entry as Lambda would (functions/test/bundles.test.ts). The wiring test checks
 * that infra/ gives no function a variable missing here, so a load is measured with the full
 * configuration: queues, the bus, the buckets, the node pool.
 */
export const LAMBDA_FUNCTION_ENV: Readonly<Record<string, string>> = {
  INFERENCEKEY_TABLE: "inferencekey-bundle-test",
  INFERENCEKEY_SERVER_SECRET_PARAMETER: "/inferencekey/bundle-test/server-secret",
  INFERENCEKEY_PUBLIC_URL: "https://d111111abcdef8.cloudfront.net",
  INFERENCEKEY_TRACING: "active",
  POWERTOOLS_SERVICE_NAME: "bundle-test",
  POWERTOOLS_METRICS_NAMESPACE: "InferenceKey/bundle-test",
  INFERENCEKEY_CONTROLLER_QUEUE_URL: "https://sqs.us-east-1.amazonaws.com/123456789012/inferencekey-bundle-test-passes",
  INFERENCEKEY_JOBS_QUEUE_URL: "https://sqs.us-east-1.amazonaws.com/123456789012/inferencekey-bundle-test-jobs",
  INFERENCEKEY_EVENT_BUS: "inferencekey-bundle-test",
  INFERENCEKEY_BLOB_BUCKET: "inferencekey-bundle-test-files",
  INFERENCEKEY_AGENT_API_URL: "https://d111111abcdef8.cloudfront.net",
  INFERENCEKEY_APP: "inferencekey",
  INFERENCEKEY_STAGE: "bundle-test",
  INFERENCEKEY_NODE_SUBNETS: '["subnet-0a","subnet-0b","subnet-0c"]',
  INFERENCEKEY_NODE_SECURITY_GROUP: "sg-0123456789abcdef0",
  INFERENCEKEY_NODE_INSTANCE_PROFILE_ARN: "arn:aws:iam::123456789012:instance-profile/inferencekey-bundle-test-node",
  INFERENCEKEY_NODE_ARTIFACTS_BUCKET: "inferencekey-bundle-test-artifacts",
  INFERENCEKEY_NODE_AGENT_KEY: "agent/inferencekey-agent.tgz",
  INFERENCEKEY_NODE_AGENT_SHA256: "0".repeat(64),
};
