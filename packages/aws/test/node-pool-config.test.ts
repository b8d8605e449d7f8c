import { DescribeSubnetsCommand, EC2Client } from "@aws-sdk/client-ec2";
import { SSMClient } from "@aws-sdk/client-ssm";
import { noCloudCompute, SharedCloudCompute } from "@inferencekey/core";
import { mockClient } from "aws-sdk-client-mock";
import { describe, expect, it } from "vitest";
import { cloudComputeFromEnv } from "../src/cloud-compute";
import { nodePoolConfigFromEnv } from "../src/node-pool-config";

const ENV = {
  INFERENCEKEY_APP: "inferencekey",
  INFERENCEKEY_STAGE: "prod",
  INFERENCEKEY_NODE_SUBNETS: '["subnet-0123456789abcdef0","subnet-0fedcba987654321f"]',
  INFERENCEKEY_NODE_SECURITY_GROUP: "sg-0123456789abcdef0",
  INFERENCEKEY_NODE_INSTANCE_PROFILE_ARN: "arn:aws:iam::123456789012:instance-profile/node",
  INFERENCEKEY_NODE_ARTIFACTS_BUCKET: "ik-prod-artifacts",
  INFERENCEKEY_NODE_AGENT_KEY: "agent/inferencekey-agent-0.1.0.tgz",
  INFERENCEKEY_NODE_AGENT_SHA256: "a".repeat(64),
  INFERENCEKEY_AGENT_API_URL: "https://abc.lambda-url.us-east-1.on.aws",
  AWS_REGION: "us-east-1",
};

describe("nodePoolConfigFromEnv", () => {
  it("reads what infra/compute.ts sets", () => {
    expect(nodePoolConfigFromEnv(ENV)).toEqual({
      app: "inferencekey",
      stage: "prod",
      subnetIds: ["subnet-0123456789abcdef0", "subnet-0fedcba987654321f"],
      securityGroupIds: ["sg-0123456789abcdef0"],
      instanceProfileArn: "arn:aws:iam::123456789012:instance-profile/node",
      artifactsBucket: "ik-prod-artifacts",
      agentKey: "agent/inferencekey-agent-0.1.0.tgz",
      agentSha256: "a".repeat(64),
      agentApiUrl: "https://abc.lambda-url.us-east-1.on.aws",
      region: "us-east-1",
    });
  });

  it("no subnets: no node pool; a half-set or malformed environment names the problem", () => {
    expect(nodePoolConfigFromEnv({})).toBeUndefined();
    expect(() => nodePoolConfigFromEnv({ ...ENV, INFERENCEKEY_STAGE: "" })).toThrow("missing environment INFERENCEKEY_STAGE");
    expect(() => nodePoolConfigFromEnv({ ...ENV, INFERENCEKEY_NODE_SUBNETS: "subnet-1" })).toThrow('INFERENCEKEY_NODE_SUBNETS "subnet-1" is not a JSON array of subnet ids');
  });
});

describe("cloudComputeFromEnv", () => {
  it("is shared capacity on EC2 with the deployment's settings when a node pool is configured, else no cloud compute", async () => {
    const ec2 = new EC2Client({ region: "us-east-1", credentials: { accessKeyId: "test", secretAccessKey: "test" } });
    const ec2Mock = mockClient(ec2);
    ec2Mock.on(DescribeSubnetsCommand).resolves({
      Subnets: [
        { SubnetId: "subnet-0123456789abcdef0", AvailabilityZone: "us-east-1b" },
        { SubnetId: "subnet-0fedcba987654321f", AvailabilityZone: "us-east-1a" },
      ],
    });
    const clients = { ec2, ssm: new SSMClient({ region: "us-east-1" }) };

    const pooled = await cloudComputeFromEnv({ ...ENV, INFERENCEKEY_CLOUD_MAX_INSTANCES: "3" }, { clients });
    const none = await cloudComputeFromEnv({}, { clients });

    expect(pooled).toBeInstanceOf(SharedCloudCompute);
    expect((pooled as SharedCloudCompute).settings).toMatchObject({ region: "us-east-1", maxInstances: 3 });
    expect(ec2Mock.commandCalls(DescribeSubnetsCommand)[0]?.args[0].input).toEqual({ SubnetIds: ["subnet-0123456789abcdef0", "subnet-0fedcba987654321f"] });
    expect(none).toBe(noCloudCompute);
  });
});
