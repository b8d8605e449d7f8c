import {
  DescribeInstancesCommand,
  DescribeInstanceTypeOfferingsCommand,
  EC2Client,
  EC2ServiceException,
  RunInstancesCommand,
  TerminateInstancesCommand,
} from "@aws-sdk/client-ec2";
import { GetParameterCommand, SSMClient } from "@aws-sdk/client-ssm";
import type { NodeLaunchRequest } from "@inferencekey/core";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Ec2NodeProvider, launchClientToken, NODE_TAGS, quotaName } from "../src/ec2-node-provider";
import { ssmNodeImageResolver } from "../src/node-image";

// Against a real EC2 API the adapter runs on moto (ec2-node-provider.moto.test.ts). moto neither
// deduplicates ClientTokens nor raises capacity or quota errors: these cases pin down every
// request built and how each EC2 error is mapped.

const ec2 = new EC2Client({ region: "us-east-1", credentials: { accessKeyId: "test", secretAccessKey: "test" } });
const mock = mockClient(ec2);

const REQUEST: NodeLaunchRequest = {
  nodeId: "node_01",
  attempt: 1,
  instanceType: "p4de.24xlarge",
  availabilityZone: "us-east-1b",
  cudaVersion: "12.4",
  launchToken: "ik_lt_secret",
};

const OWNER_FILTERS = [
  { Name: "tag:inferencekey:app", Values: ["inferencekey"] },
  { Name: "tag:inferencekey:stage", Values: ["prod"] },
];

const resolvedImages: string[] = [];

function provider(): Ec2NodeProvider {
  return new Ec2NodeProvider({
    ec2,
    app: "inferencekey",
    stage: "prod",
    subnets: [
      { subnetId: "subnet-a", availabilityZone: "us-east-1a" },
      { subnetId: "subnet-b", availabilityZone: "us-east-1b" },
    ],
    securityGroupIds: ["sg-1"],
    instanceProfileArn: "arn:aws:iam::123456789012:instance-profile/ik-node",
    resolveImage: async (cuda) => {
      resolvedImages.push(cuda);
      return "ami-0123456789abcdef0";
    },
    renderUserData: (request) => `#!/bin/sh\necho ${request.nodeId}\n`,
  });
}

function ec2Error(name: string, status = 400): EC2ServiceException {
  return new EC2ServiceException({ name, $fault: status >= 500 ? "server" : "client", message: `${name}: test`, $metadata: { httpStatusCode: status } });
}

const TOKEN = launchClientToken("inferencekey/prod", REQUEST);

beforeEach(() => {
  mock.reset();
  resolvedImages.length = 0;
});

afterEach(() => mock.reset());

describe("launchClientToken", () => {
  it("is 64 hex characters, one per deployment, node, attempt and offering", () => {
    expect(TOKEN).toMatch(/^[0-9a-f]{64}$/);
    const variants = [
      launchClientToken("inferencekey/dev", REQUEST),
      launchClientToken("inferencekey/prod", { ...REQUEST, nodeId: "node_02" }),
      launchClientToken("inferencekey/prod", { ...REQUEST, attempt: 2 }),
      launchClientToken("inferencekey/prod", { ...REQUEST, instanceType: "p4d.24xlarge" }),
      launchClientToken("inferencekey/prod", { ...REQUEST, availabilityZone: "us-east-1a" }),
    ];
    expect(new Set([TOKEN, ...variants]).size).toBe(6);
    expect(launchClientToken("inferencekey/prod", { ...REQUEST })).toBe(TOKEN);
  });
});

describe("Ec2NodeProvider.launch", () => {
  it("looks for the launch by its token's tag, then runs one instance with tags at creation, IMDSv2 and the zone's subnet", async () => {
    // Prepare
    mock.on(DescribeInstancesCommand).resolves({ Reservations: [] });
    mock.on(RunInstancesCommand).resolves({ Instances: [{ InstanceId: "i-0abc", PrivateIpAddress: "10.0.1.5", PublicIpAddress: "3.3.3.3" }] });

    // Act
    const outcome = await provider().launch(REQUEST);

    // Assess
    expect(outcome).toEqual({ kind: "launched", instanceId: "i-0abc", privateIp: "10.0.1.5", publicIp: "3.3.3.3" });
    expect(mock.commandCalls(DescribeInstancesCommand)[0]?.args[0].input).toEqual({
      Filters: [...OWNER_FILTERS, { Name: "tag:inferencekey:launch", Values: [TOKEN] }],
      MaxResults: 1000,
    });
    const tags = [
      { Key: "inferencekey:app", Value: "inferencekey" },
      { Key: "inferencekey:stage", Value: "prod" },
      { Key: "inferencekey:node", Value: "node_01" },
      { Key: "inferencekey:launch", Value: TOKEN },
      { Key: "Name", Value: "inferencekey-prod-node_01" },
    ];
    expect(mock.commandCalls(RunInstancesCommand)).toHaveLength(1);
    expect(mock.commandCalls(RunInstancesCommand)[0]?.args[0].input).toEqual({
      ClientToken: TOKEN,
      ImageId: "ami-0123456789abcdef0",
      InstanceType: "p4de.24xlarge",
      MinCount: 1,
      MaxCount: 1,
      SubnetId: "subnet-b",
      SecurityGroupIds: ["sg-1"],
      IamInstanceProfile: { Arn: "arn:aws:iam::123456789012:instance-profile/ik-node" },
      UserData: Buffer.from("#!/bin/sh\necho node_01\n").toString("base64"),
      MetadataOptions: { HttpTokens: "required", HttpPutResponseHopLimit: 1, HttpEndpoint: "enabled", InstanceMetadataTags: "disabled" },
      InstanceInitiatedShutdownBehavior: "terminate",
      TagSpecifications: [
        { ResourceType: "instance", Tags: tags },
        { ResourceType: "volume", Tags: tags },
      ],
    });
    expect(resolvedImages).toEqual(["12.4"]);
  });

  it("a lost RunInstances response leaks nothing: the retry with the same token finds the instance", async () => {
    // Prepare: the first call launches but its answer is lost; EC2 keeps the instance under the token.
    const launchedByToken = new Map<string, string>();
    mock.on(DescribeInstancesCommand).callsFake((input: { Filters: { Name: string; Values: string[] }[] }) => {
      const token = input.Filters.find((f) => f.Name === `tag:${NODE_TAGS.launch}`)?.Values[0] ?? "";
      const id = launchedByToken.get(token);
      return { Reservations: id === undefined ? [] : [{ Instances: [{ InstanceId: id, State: { Name: "pending" } }] }] };
    });
    let runs = 0;
    mock.on(RunInstancesCommand).callsFake((input: { ClientToken: string }) => {
      runs += 1;
      launchedByToken.set(input.ClientToken, "i-0lost");
      if (runs === 1) throw Object.assign(new Error("socket hang up"), { name: "TimeoutError" });
      return { Instances: [{ InstanceId: "i-0lost" }] };
    });

    // Act
    const first = await provider().launch(REQUEST);
    const retry = await provider().launch(REQUEST);

    // Assess: the first attempt is a retryable failure, the retry finds the one instance without a second RunInstances.
    expect(first).toMatchObject({ kind: "failed", code: "TimeoutError", retryable: true });
    expect(retry).toEqual({ kind: "launched", instanceId: "i-0lost" });
    expect(runs).toBe(1);
    expect(mock.commandCalls(RunInstancesCommand).map((c) => c.args[0].input.ClientToken)).toEqual([TOKEN]);
  });

  it("a retry EC2 itself deduplicates by ClientToken (the tag not yet visible) carries the same token", async () => {
    mock.on(DescribeInstancesCommand).resolves({ Reservations: [] });
    mock
      .on(RunInstancesCommand)
      .rejectsOnce(Object.assign(new Error("read ECONNRESET"), { name: "TimeoutError" }))
      .resolves({ Instances: [{ InstanceId: "i-0same" }] });

    await provider().launch(REQUEST);
    const retry = await provider().launch(REQUEST);

    expect(retry).toEqual({ kind: "launched", instanceId: "i-0same" });
    expect(mock.commandCalls(RunInstancesCommand).map((c) => c.args[0].input.ClientToken)).toEqual([TOKEN, TOKEN]);
  });

  it("an IdempotentParameterMismatch (same token, a newer image or user data) is answered by the instance the token made", async () => {
    mock.on(DescribeInstancesCommand).resolvesOnce({ Reservations: [] }).resolves({ Reservations: [{ Instances: [{ InstanceId: "i-0first", State: { Name: "running" } }] }] });
    mock.on(RunInstancesCommand).rejects(ec2Error("IdempotentParameterMismatch"));

    expect(await provider().launch(REQUEST)).toEqual({ kind: "launched", instanceId: "i-0first" });
  });

  it.each([
    "InsufficientInstanceCapacity",
    "InsufficientHostCapacity",
    "InsufficientReservedInstanceCapacity",
    "InsufficientCapacity",
    "InsufficientFreeAddressesInSubnet",
    "Unsupported",
  ])("%s marks the offering unavailable", async (code) => {
    mock.on(DescribeInstancesCommand).resolves({ Reservations: [] });
    mock.on(RunInstancesCommand).rejects(ec2Error(code, code.startsWith("Insufficient") ? 500 : 400));

    expect(await provider().launch(REQUEST)).toEqual({
      kind: "unavailable",
      instanceType: "p4de.24xlarge",
      availabilityZone: "us-east-1b",
      code,
      message: `${code}: test`,
    });
  });

  it.each([
    ["VcpuLimitExceeded", "p4de.24xlarge", "Running On-Demand P instances (L-417A185B, vCPUs)"],
    ["VcpuLimitExceeded", "g6e.12xlarge", "Running On-Demand G and VT instances (L-DB2E81BA, vCPUs)"],
    ["InstanceLimitExceeded", "p5.48xlarge", "EC2 instance count limit for this type"],
    ["VolumeLimitExceeded", "g5.xlarge", "EBS storage limit"],
  ])("%s on %s is quota_exceeded naming %s", async (code, instanceType, quota) => {
    mock.on(DescribeInstancesCommand).resolves({ Reservations: [] });
    mock.on(RunInstancesCommand).rejects(ec2Error(code));

    expect(await provider().launch({ ...REQUEST, instanceType })).toEqual({ kind: "quota_exceeded", quota, code, message: `${code}: test` });
    expect(quotaName(code, instanceType)).toBe(quota);
  });

  it("other errors fail, retryable only when transient", async () => {
    mock.on(DescribeInstancesCommand).resolves({ Reservations: [] });
    mock.on(RunInstancesCommand).rejectsOnce(ec2Error("InvalidAMIID.NotFound")).rejectsOnce(ec2Error("RequestLimitExceeded", 503)).rejectsOnce(ec2Error("InternalError", 500));

    expect(await provider().launch(REQUEST)).toMatchObject({ kind: "failed", code: "InvalidAMIID.NotFound", retryable: false });
    expect(await provider().launch(REQUEST)).toMatchObject({ kind: "failed", code: "RequestLimitExceeded", retryable: true });
    expect(await provider().launch(REQUEST)).toMatchObject({ kind: "failed", code: "InternalError", retryable: true });
  });

  it("refuses a zone with no subnet without calling EC2", async () => {
    const outcome = await provider().launch({ ...REQUEST, availabilityZone: "us-east-1f" });

    expect(outcome).toEqual({
      kind: "failed",
      code: "NoSubnetInZone",
      message: "no subnet configured in us-east-1f; configured zones: us-east-1a, us-east-1b",
      retryable: false,
    });
    expect(mock.calls()).toHaveLength(0);
  });
});

describe("Ec2NodeProvider.terminate", () => {
  it("checks the tags first and terminates only our instances; ids of others are never sent", async () => {
    mock.on(DescribeInstancesCommand).resolves({
      Reservations: [{ Instances: [{ InstanceId: "i-ours", State: { Name: "running" } }, { InstanceId: "i-done", State: { Name: "terminated" } }] }],
    });
    mock.on(TerminateInstancesCommand).resolves({});

    await provider().terminate(["i-ours", "i-theirs", "i-done", "i-ours"]);

    expect(mock.commandCalls(DescribeInstancesCommand)[0]?.args[0].input).toEqual({
      Filters: [...OWNER_FILTERS, { Name: "instance-id", Values: ["i-ours", "i-theirs", "i-done"] }],
      MaxResults: 1000,
    });
    expect(mock.commandCalls(TerminateInstancesCommand).map((c) => c.args[0].input)).toEqual([{ InstanceIds: ["i-ours"] }]);
  });

  it("an instance already gone is success, also when it vanishes between the check and the call", async () => {
    mock.on(DescribeInstancesCommand).resolves({ Reservations: [{ Instances: [{ InstanceId: "i-a" }, { InstanceId: "i-b" }] }] });
    mock
      .on(TerminateInstancesCommand, { InstanceIds: ["i-a", "i-b"] })
      .rejects(ec2Error("InvalidInstanceID.NotFound"))
      .on(TerminateInstancesCommand, { InstanceIds: ["i-a"] })
      .rejects(ec2Error("InvalidInstanceID.NotFound"))
      .on(TerminateInstancesCommand, { InstanceIds: ["i-b"] })
      .resolves({});

    await expect(provider().terminate(["i-a", "i-b"])).resolves.toBeUndefined();
    expect(mock.commandCalls(TerminateInstancesCommand).map((c) => c.args[0].input.InstanceIds)).toEqual([["i-a", "i-b"], ["i-a"], ["i-b"]]);
  });

  it("nothing ours: no TerminateInstances at all", async () => {
    mock.on(DescribeInstancesCommand).resolves({ Reservations: [] });

    await provider().terminate(["i-theirs"]);
    await provider().terminate([]);

    expect(mock.commandCalls(TerminateInstancesCommand)).toHaveLength(0);
    expect(mock.commandCalls(DescribeInstancesCommand)).toHaveLength(1);
  });

  it("a fault other than not-found reaches the caller, which tries again", async () => {
    mock.on(DescribeInstancesCommand).resolves({ Reservations: [{ Instances: [{ InstanceId: "i-a" }] }] });
    mock.on(TerminateInstancesCommand).rejects(ec2Error("RequestLimitExceeded", 503));

    await expect(provider().terminate(["i-a"])).rejects.toMatchObject({ name: "RequestLimitExceeded" });
  });
});

describe("Ec2NodeProvider.listOwned", () => {
  it("filters by app and stage tags, follows pages and reads the node tag", async () => {
    const launchedAt = new Date("2030-01-01T00:00:00Z");
    mock
      .on(DescribeInstancesCommand)
      .resolvesOnce({
        Reservations: [
          {
            Instances: [
              {
                InstanceId: "i-1",
                State: { Name: "running" },
                InstanceType: "p4de.24xlarge",
                Placement: { AvailabilityZone: "us-east-1b" },
                LaunchTime: launchedAt,
                PrivateIpAddress: "10.0.1.5",
                Tags: [{ Key: "inferencekey:node", Value: "node_01" }],
              },
            ],
          },
        ],
        NextToken: "page-2",
      })
      .resolvesOnce({ Reservations: [{ Instances: [{ InstanceId: "i-2", State: { Name: "shutting-down" }, InstanceType: "g6.xlarge", Placement: { AvailabilityZone: "us-east-1a" }, LaunchTime: launchedAt }] }] });

    const owned = await provider().listOwned();

    expect(owned).toEqual([
      { instanceId: "i-1", nodeId: "node_01", state: "running", instanceType: "p4de.24xlarge", availabilityZone: "us-east-1b", launchedAt, privateIp: "10.0.1.5" },
      { instanceId: "i-2", state: "shutting-down", instanceType: "g6.xlarge", availabilityZone: "us-east-1a", launchedAt },
    ]);
    expect(mock.commandCalls(DescribeInstancesCommand).map((c) => c.args[0].input)).toEqual([
      { Filters: OWNER_FILTERS, MaxResults: 1000 },
      { Filters: OWNER_FILTERS, MaxResults: 1000, NextToken: "page-2" },
    ]);
  });
});

describe("Ec2NodeProvider.offerings", () => {
  it("asks per availability zone for the types, in the pool's zones only", async () => {
    mock.on(DescribeInstanceTypeOfferingsCommand).resolves({
      InstanceTypeOfferings: [
        { InstanceType: "p4de.24xlarge", Location: "us-east-1b", LocationType: "availability-zone" },
        { InstanceType: "p4de.24xlarge", Location: "us-east-1c", LocationType: "availability-zone" },
      ],
    });

    expect(await provider().offerings(["p4de.24xlarge", "g6.xlarge"])).toEqual([{ instanceType: "p4de.24xlarge", availabilityZone: "us-east-1b" }]);
    expect(mock.commandCalls(DescribeInstanceTypeOfferingsCommand)[0]?.args[0].input).toEqual({
      LocationType: "availability-zone",
      Filters: [
        { Name: "instance-type", Values: ["p4de.24xlarge", "g6.xlarge"] },
        { Name: "location", Values: ["us-east-1a", "us-east-1b"] },
      ],
      MaxResults: 1000,
    });
  });
});

describe("ssmNodeImageResolver", () => {
  const ssm = new SSMClient({ region: "us-east-1", credentials: { accessKeyId: "test", secretAccessKey: "test" } });
  const ssmMock = mockClient(ssm);
  afterEach(() => ssmMock.reset());

  it("reads the Deep Learning Base AMI's public parameter for a CUDA its driver supports, and caches it", async () => {
    ssmMock.on(GetParameterCommand).resolves({ Parameter: { Value: "ami-0fedcba9876543210" } });
    let now = 0;
    const resolve = ssmNodeImageResolver(ssm, { cacheMs: 1_000, now: () => now });

    expect(await resolve("12.4")).toBe("ami-0fedcba9876543210");
    expect(await resolve("12.1")).toBe("ami-0fedcba9876543210");
    now = 1_001;
    await resolve("12.8");

    expect(ssmMock.commandCalls(GetParameterCommand).map((c) => c.args[0].input)).toEqual([
      { Name: "/aws/service/deeplearning/ami/x86_64/base-oss-nvidia-driver-gpu-ubuntu-22.04/latest/ami-id" },
      { Name: "/aws/service/deeplearning/ami/x86_64/base-oss-nvidia-driver-gpu-ubuntu-22.04/latest/ami-id" },
    ]);
  });

  it("names what it cannot serve: a newer CUDA, a malformed version, a parameter that is not an AMI id", async () => {
    ssmMock.on(GetParameterCommand).resolves({ Parameter: { Value: "not-an-ami" } });
    const resolve = ssmNodeImageResolver(ssm);

    await expect(resolve("13.0")).rejects.toThrow("no node image supports CUDA 13.0: the configured images' drivers support up to 12.8");
    await expect(resolve("12")).rejects.toThrow('CUDA version "12" is not of the form 12.4');
    await expect(resolve("12.4")).rejects.toThrow('holds "not-an-ami", not an AMI id');
  });
});
