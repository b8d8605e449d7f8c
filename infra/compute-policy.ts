// The IAM statements of shared cloud capacity, as plain data: infra/compute.ts attaches them, and
// test/infra/compute-policy.test.ts evaluates them against the calls the EC2 adapter makes (and the
// ones it must never be able to make). No SST or Pulumi global here, so tests import it as is.

/** Keep in step with NODE_TAGS in packages/aws/src/ec2-node-provider.ts (the test checks). */
export const OWNER_TAG_KEYS = { app: "inferencekey:app", stage: "inferencekey:stage" } as const;

export interface PolicyStatement {
  Sid: string;
  Effect: "Allow";
  Action: string[];
  Resource: string[];
  Condition?: Record<string, Record<string, string | string[]>>;
}

export interface ComputePolicyInput {
  app: string;
  stage: string;
  region: string;
  accountId: string;
  /** The node role: the only role the controller may hand to an instance. */
  nodeRoleArn: string;
  subnetIds: readonly string[];
  securityGroupIds: readonly string[];
}

/**
 * What the controller needs to run the node pool, and nothing more:
 * - RunInstances creates instances and volumes only when the request tags them with this app and
 *   stage (aws:RequestTag), from any image, in our subnets and security groups only;
 * - CreateTags only as part of RunInstances (tags at creation, never retagging someone's instance);
 * - Terminate/Stop only instances that carry this app's and stage's tags (aws:ResourceTag): two
 *   stages in one account cannot touch each other's nodes, nor anyone else's;
 * - iam:PassRole for the node role alone, to EC2 alone;
 * - the Describe calls (no resource-level permissions exist for them) and the Deep Learning AMI's
 *   public SSM parameters.
 */
export function controllerComputeStatements(input: ComputePolicyInput): PolicyStatement[] {
  const ec2 = (resource: string) => `arn:aws:ec2:${input.region}:${input.accountId}:${resource}`;
  const ownerTags = (prefix: "aws:RequestTag" | "aws:ResourceTag") => ({
    [`${prefix}/${OWNER_TAG_KEYS.app}`]: input.app,
    [`${prefix}/${OWNER_TAG_KEYS.stage}`]: input.stage,
  });
  return [
    {
      Sid: "RunTaggedNodes",
      Effect: "Allow",
      Action: ["ec2:RunInstances"],
      Resource: [ec2("instance/*"), ec2("volume/*")],
      Condition: { StringEquals: ownerTags("aws:RequestTag") },
    },
    {
      Sid: "RunNodesFromImagesInOurNetwork",
      Effect: "Allow",
      Action: ["ec2:RunInstances"],
      Resource: [
        `arn:aws:ec2:${input.region}::image/*`,
        ...input.subnetIds.map((id) => ec2(`subnet/${id}`)),
        ...input.securityGroupIds.map((id) => ec2(`security-group/${id}`)),
        ec2("network-interface/*"),
      ],
    },
    {
      Sid: "TagOnlyAtLaunch",
      Effect: "Allow",
      Action: ["ec2:CreateTags"],
      Resource: [ec2("instance/*"), ec2("volume/*")],
      Condition: { StringEquals: { "ec2:CreateAction": "RunInstances" } },
    },
    {
      Sid: "StopOnlyOurNodes",
      Effect: "Allow",
      Action: ["ec2:TerminateInstances", "ec2:StopInstances"],
      Resource: [ec2("instance/*")],
      Condition: { StringEquals: ownerTags("aws:ResourceTag") },
    },
    {
      Sid: "PassOnlyTheNodeRole",
      Effect: "Allow",
      Action: ["iam:PassRole"],
      Resource: [input.nodeRoleArn],
      Condition: { StringEquals: { "iam:PassedToService": "ec2.amazonaws.com" } },
    },
    {
      Sid: "DescribeCapacity",
      Effect: "Allow",
      Action: ["ec2:DescribeInstances", "ec2:DescribeInstanceTypeOfferings", "ec2:DescribeInstanceTypes", "ec2:DescribeSubnets"],
      Resource: ["*"],
    },
    {
      Sid: "ReadNodeImageParameters",
      Effect: "Allow",
      Action: ["ssm:GetParameter"],
      Resource: [`arn:aws:ssm:${input.region}::parameter/aws/service/deeplearning/*`],
    },
  ];
}

/**
 * The node role's whole policy: read the agent's packed tarball, nothing else. The agent talks to
 * the platform over HTTPS with its worker token, not through AWS APIs, so a workload on the node
 * that reaches the role's credentials (it cannot: IMDSv2 with hop limit 1 keeps containers out,
 * but a process on the host can) gets one readable object prefix.
 */
export function nodeRoleStatements(input: { bucketArn: string; agentPrefix: string }): PolicyStatement[] {
  return [
    {
      Sid: "ReadAgentTarball",
      Effect: "Allow",
      Action: ["s3:GetObject"],
      Resource: [`${input.bucketArn}/${input.agentPrefix}*`],
    },
  ];
}

/** The node role's trust: EC2 instances only. */
export const NODE_ROLE_TRUST = {
  Version: "2012-10-17",
  Statement: [{ Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" }],
} as const;
