import { describe, expect, it } from "vitest";
import { controllerComputeStatements, NODE_ROLE_TRUST, nodeRoleStatements, OWNER_TAG_KEYS } from "../../infra/compute-policy";
import { NODE_TAGS } from "../../packages/aws/src/ec2-node-provider";
import { allowed } from "../support/iam-policy";

// The controller's and the node's IAM statements, evaluated against the requests the EC2 adapter
// makes and against the ones it must never be able to make (test/support/iam-policy.ts: Allow only,
// Action and Resource wildcards, StringEquals; anything else fails).

const INPUT = {
  app: "inferencekey",
  stage: "prod",
  region: "us-east-1",
  accountId: "123456789012",
  nodeRoleArn: "arn:aws:iam::123456789012:role/inferencekey-prod-NodeRole",
  subnetIds: ["subnet-aaa", "subnet-bbb"],
  securityGroupIds: ["sg-111"],
};
const statements = controllerComputeStatements(INPUT);
const ec2 = (resource: string) => `arn:aws:ec2:us-east-1:123456789012:${resource}`;
const ourRequestTags = { "aws:RequestTag/inferencekey:app": "inferencekey", "aws:RequestTag/inferencekey:stage": "prod" };
const ourResourceTags = { "aws:ResourceTag/inferencekey:app": "inferencekey", "aws:ResourceTag/inferencekey:stage": "prod" };

describe("the controller's node-pool statements", () => {
  it("use the tag keys the adapter writes", () => {
    expect(OWNER_TAG_KEYS).toEqual({ app: NODE_TAGS.app, stage: NODE_TAGS.stage });
  });

  it("allow RunInstances of an instance and volume tagged with our app and stage in the request, from our subnets and groups", () => {
    for (const resource of [ec2("instance/*"), ec2("volume/vol-1")]) {
      expect(allowed(statements, { action: "ec2:RunInstances", resource, context: ourRequestTags })).toBe(true);
    }
    for (const resource of ["arn:aws:ec2:us-east-1::image/ami-1", ec2("subnet/subnet-aaa"), ec2("security-group/sg-111"), ec2("network-interface/*")]) {
      expect(allowed(statements, { action: "ec2:RunInstances", resource })).toBe(true);
    }
  });

  it("refuse RunInstances without our tags, with another stage's, or into a subnet or group not ours", () => {
    expect(allowed(statements, { action: "ec2:RunInstances", resource: ec2("instance/*") })).toBe(false);
    expect(
      allowed(statements, { action: "ec2:RunInstances", resource: ec2("instance/*"), context: { ...ourRequestTags, "aws:RequestTag/inferencekey:stage": "dev" } }),
    ).toBe(false);
    expect(allowed(statements, { action: "ec2:RunInstances", resource: ec2("instance/*"), context: { "aws:RequestTag/inferencekey:app": "inferencekey" } })).toBe(false);
    expect(allowed(statements, { action: "ec2:RunInstances", resource: ec2("subnet/subnet-zzz") })).toBe(false);
    expect(allowed(statements, { action: "ec2:RunInstances", resource: ec2("security-group/sg-999") })).toBe(false);
  });

  it("allow CreateTags only as part of RunInstances", () => {
    expect(allowed(statements, { action: "ec2:CreateTags", resource: ec2("instance/i-1"), context: { "ec2:CreateAction": "RunInstances" } })).toBe(true);
    expect(allowed(statements, { action: "ec2:CreateTags", resource: ec2("instance/i-1") })).toBe(false);
    expect(allowed(statements, { action: "ec2:CreateTags", resource: ec2("instance/i-1"), context: { "ec2:CreateAction": "CreateVolume" } })).toBe(false);
  });

  it("allow Terminate and Stop only on instances carrying our app and stage tags", () => {
    for (const action of ["ec2:TerminateInstances", "ec2:StopInstances"]) {
      expect(allowed(statements, { action, resource: ec2("instance/i-1"), context: ourResourceTags })).toBe(true);
      expect(allowed(statements, { action, resource: ec2("instance/i-1") })).toBe(false);
      expect(allowed(statements, { action, resource: ec2("instance/i-1"), context: { ...ourResourceTags, "aws:ResourceTag/inferencekey:stage": "dev" } })).toBe(
        false,
      );
    }
  });

  it("allow iam:PassRole for the node role to EC2 only, and no other IAM action", () => {
    expect(allowed(statements, { action: "iam:PassRole", resource: INPUT.nodeRoleArn, context: { "iam:PassedToService": "ec2.amazonaws.com" } })).toBe(true);
    expect(allowed(statements, { action: "iam:PassRole", resource: "arn:aws:iam::123456789012:role/Admin", context: { "iam:PassedToService": "ec2.amazonaws.com" } })).toBe(false);
    expect(allowed(statements, { action: "iam:PassRole", resource: INPUT.nodeRoleArn, context: { "iam:PassedToService": "lambda.amazonaws.com" } })).toBe(false);
    expect(statements.flatMap((s) => s.Action).filter((a) => a.startsWith("iam:"))).toEqual(["iam:PassRole"]);
  });

  it("grant no wildcard action and nothing beyond the adapter's calls", () => {
    expect(statements.flatMap((s) => s.Action).every((a) => !a.includes("*"))).toBe(true);
    expect(new Set(statements.flatMap((s) => s.Action))).toEqual(
      new Set([
        "ec2:RunInstances",
        "ec2:CreateTags",
        "ec2:TerminateInstances",
        "ec2:StopInstances",
        "iam:PassRole",
        "ec2:DescribeInstances",
        "ec2:DescribeInstanceTypeOfferings",
        "ec2:DescribeInstanceTypes",
        "ec2:DescribeSubnets",
        "ssm:GetParameter",
      ]),
    );
    expect(allowed(statements, { action: "ssm:GetParameter", resource: "arn:aws:ssm:us-east-1::parameter/aws/service/deeplearning/ami/x86_64/base/latest/ami-id" })).toBe(true);
    expect(allowed(statements, { action: "ssm:GetParameter", resource: "arn:aws:ssm:us-east-1:123456789012:parameter/inferencekey/server-secret" })).toBe(false);
  });
});

describe("the node role", () => {
  const node = nodeRoleStatements({ bucketArn: "arn:aws:s3:::ik-prod-artifacts", agentPrefix: "agent/" });

  it("reads the agent tarball and nothing else", () => {
    expect(allowed(node, { action: "s3:GetObject", resource: "arn:aws:s3:::ik-prod-artifacts/agent/inferencekey-agent-0.1.0.tgz" })).toBe(true);
    expect(allowed(node, { action: "s3:GetObject", resource: "arn:aws:s3:::ik-prod-artifacts/other/secret.json" })).toBe(false);
    expect(allowed(node, { action: "s3:PutObject", resource: "arn:aws:s3:::ik-prod-artifacts/agent/x.tgz" })).toBe(false);
    expect(allowed(node, { action: "ec2:DescribeInstances", resource: "*" })).toBe(false);
    expect(node.flatMap((s) => s.Action)).toEqual(["s3:GetObject"]);
  });

  it("is assumable by EC2 only", () => {
    expect(NODE_ROLE_TRUST.Statement).toEqual([{ Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" }]);
  });
});
