import {
  CreateTagsCommand,
  DescribeImagesCommand,
  DescribeInstanceAttributeCommand,
  DescribeInstancesCommand,
  DescribeSubnetsCommand,
  RunInstancesCommand,
} from "@aws-sdk/client-ec2";
import { PutParameterCommand } from "@aws-sdk/client-ssm";
import type { NodeLaunchRequest } from "@inferencekey/core";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { EMULATOR_CREDENTIALS } from "../../../test/support/dynalite";
import { createInstanceProfile, type RunningMoto, startMoto } from "../../../test/support/moto";
import { createEc2Client, createSsmClient } from "../src/ec2-client";
import { Ec2NodeProvider, type NodeSubnet } from "../src/ec2-node-provider";
import { ssmNodeImageResolver } from "../src/node-image";
import { ec2NodeProviderFromConfig, subnetsWithZones } from "../src/node-pool-config";

// The adapter against a real EC2 API (moto server): requests are accepted, tags land on the
// instances, filters select what they should. Error mapping and ClientToken deduplication, which
// moto does not emulate, are in ec2-node-provider.test.ts.

const IMAGE_PARAMETER = "/inferencekey/test/node-image";

let moto: RunningMoto;
let ec2: ReturnType<typeof createEc2Client>;
let ssm: ReturnType<typeof createSsmClient>;
let subnets: NodeSubnet[];
let imageId: string;

function provider(stage: string): Ec2NodeProvider {
  return new Ec2NodeProvider({
    ec2,
    app: "inferencekey",
    stage,
    subnets,
    securityGroupIds: [],
    instanceProfileArn: "arn:aws:iam::123456789012:instance-profile/ik-node",
    resolveImage: ssmNodeImageResolver(ssm, { lines: [{ parameter: IMAGE_PARAMETER, driverCudaVersion: "12.8" }] }),
    renderUserData: (request) => `#!/bin/sh\n# ${request.nodeId}\n`,
  });
}

function request(nodeId: string, overrides: Partial<NodeLaunchRequest> = {}): NodeLaunchRequest {
  return {
    nodeId,
    attempt: 1,
    instanceType: "p4de.24xlarge",
    availabilityZone: subnets[0]?.availabilityZone ?? "",
    cudaVersion: "12.4",
    launchToken: "ik_lt_test",
    ...overrides,
  };
}

beforeAll(async () => {
  moto = await startMoto();
  const options = { region: "us-east-1", endpoint: moto.endpoint, credentials: EMULATOR_CREDENTIALS };
  ec2 = createEc2Client(options);
  ssm = createSsmClient(options);
}, 60_000);

afterAll(async () => {
  ec2?.destroy();
  ssm?.destroy();
  await moto?.stop();
});

beforeEach(async () => {
  await moto.reset();
  // moto's default VPC has one subnet per zone and a catalogue of public images.
  const found = await ec2.send(new DescribeSubnetsCommand({ Filters: [{ Name: "default-for-az", Values: ["true"] }] }));
  subnets = (await subnetsWithZones(ec2, (found.Subnets ?? []).map((s) => s.SubnetId ?? ""))).slice(0, 2);
  await createInstanceProfile(moto.endpoint, "ik-node");
  const images = await ec2.send(new DescribeImagesCommand({ Owners: ["amazon"] }));
  imageId = images.Images?.[0]?.ImageId ?? "";
  await ssm.send(new PutParameterCommand({ Name: IMAGE_PARAMETER, Value: imageId, Type: "String", Overwrite: true }));
});

describe("Ec2NodeProvider on moto", () => {
  it("tags are applied at creation: launches with the ownership tags, IMDSv2 and the zone's subnet, and lists it as owned", async () => {
    const nodes = provider("prod");

    const outcome = await nodes.launch(request("node_a", { availabilityZone: subnets[1]?.availabilityZone ?? "" }));

    expect(outcome).toMatchObject({ kind: "launched" });
    const instanceId = outcome.kind === "launched" ? outcome.instanceId : "";
    const described = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [instanceId] }));
    const instance = described.Reservations?.[0]?.Instances?.[0];
    expect(instance?.SubnetId).toBe(subnets[1]?.subnetId);
    expect(instance?.MetadataOptions).toMatchObject({ HttpTokens: "required", HttpPutResponseHopLimit: 1 });
    expect(Object.fromEntries((instance?.Tags ?? []).map((t) => [t.Key, t.Value]))).toMatchObject({
      "inferencekey:app": "inferencekey",
      "inferencekey:stage": "prod",
      "inferencekey:node": "node_a",
    });
    const owned = await nodes.listOwned();
    expect(owned).toEqual([
      expect.objectContaining({ instanceId, nodeId: "node_a", instanceType: "p4de.24xlarge", availabilityZone: subnets[1]?.availabilityZone }),
    ]);
    expect(owned[0]?.privateIp).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
  });

  it("the same launch again finds the instance rather than making a second one", async () => {
    const nodes = provider("prod");

    const first = await nodes.launch(request("node_a"));
    const again = await nodes.launch(request("node_a"));
    const nextAttempt = await nodes.launch(request("node_a", { attempt: 2 }));

    expect(again).toEqual(first);
    expect(nextAttempt.kind === "launched" && first.kind === "launched" && nextAttempt.instanceId !== first.instanceId).toBe(true);
    expect(await nodes.listOwned()).toHaveLength(2);
  });

  it("garbage collection spares what is not ours: two stages never see, nor terminate, each other's nodes; an untagged instance is never touched", async () => {
    const prod = provider("prod");
    const dev = provider("dev");
    const prodLaunch = await prod.launch(request("node_p"));
    const devLaunch = await dev.launch(request("node_d"));
    const stranger = await ec2.send(
      new RunInstancesCommand({ ImageId: imageId, MinCount: 1, MaxCount: 1, InstanceType: "t3.micro" }),
    );
    const strangerId = stranger.Instances?.[0]?.InstanceId ?? "";
    // Someone else's instance with our app tag but another stage.
    await ec2.send(new CreateTagsCommand({ Resources: [strangerId], Tags: [{ Key: "inferencekey:app", Value: "inferencekey" }] }));
    const prodId = prodLaunch.kind === "launched" ? prodLaunch.instanceId : "";
    const devId = devLaunch.kind === "launched" ? devLaunch.instanceId : "";

    expect((await prod.listOwned()).map((i) => i.instanceId)).toEqual([prodId]);
    expect((await dev.listOwned()).map((i) => i.instanceId)).toEqual([devId]);

    await prod.terminate([prodId, devId, strangerId, "i-0000000000000dead"]);

    const states = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [prodId, devId, strangerId] }));
    const stateOf = new Map(states.Reservations?.flatMap((r) => r.Instances ?? []).map((i) => [i.InstanceId, i.State?.Name]));
    expect(stateOf.get(prodId)).toBe("terminated");
    expect(stateOf.get(devId)).toBe("running");
    expect(stateOf.get(strangerId)).toBe("running");
    expect((await prod.listOwned()).map((i) => i.state)).toEqual(["terminated"]);

    // Terminating again is success.
    await expect(prod.terminate([prodId])).resolves.toBeUndefined();
  });

  it("offerings come from DescribeInstanceTypeOfferings, limited to the pool's zones", async () => {
    const offered = await provider("prod").offerings(["p4d.24xlarge", "g5.xlarge"]);

    const zones = new Set(subnets.map((s) => s.availabilityZone));
    expect(offered.length).toBeGreaterThan(0);
    expect(offered.every((o) => zones.has(o.availabilityZone) && ["p4d.24xlarge", "g5.xlarge"].includes(o.instanceType))).toBe(true);
  });

  it("from the deployment's configuration: subnets' zones looked up, user data rendered with the launch's token and node", async () => {
    const nodes = await ec2NodeProviderFromConfig(
      {
        app: "inferencekey",
        stage: "prod",
        subnetIds: subnets.map((s) => s.subnetId),
        securityGroupIds: [],
        instanceProfileArn: "arn:aws:iam::123456789012:instance-profile/ik-node",
        artifactsBucket: "ik-prod-artifacts",
        agentKey: "agent/inferencekey-agent-0.1.0.tgz",
        agentSha256: "b".repeat(64),
        agentApiUrl: "https://abc.lambda-url.us-east-1.on.aws",
        region: "us-east-1",
      },
      { ec2, ssm },
      { resolveImage: async () => imageId },
    );
    const launchToken = `ik_wrk_${"A".repeat(30)}`;

    const outcome = await nodes.launch(request("node_cfg", { availabilityZone: subnets[1]?.availabilityZone ?? "", launchToken, vllmVersions: ["0.8.5"] }));

    const instanceId = outcome.kind === "launched" ? outcome.instanceId : "";
    const attribute = await ec2.send(new DescribeInstanceAttributeCommand({ InstanceId: instanceId, Attribute: "userData" }));
    const userData = Buffer.from(attribute.UserData?.Value ?? "", "base64").toString("utf8");
    expect(userData).toContain(`LAUNCH_TOKEN=${launchToken}\n`);
    expect(userData).toContain("NODE_ID=node_cfg\n");
    expect(userData).toContain("AGENT_S3=s3://ik-prod-artifacts/agent/inferencekey-agent-0.1.0.tgz\n");
    expect(userData).toContain("VLLM_VERSIONS=0.8.5\n");
    expect((await ec2.send(new DescribeInstancesCommand({ InstanceIds: [instanceId] }))).Reservations?.[0]?.Instances?.[0]?.SubnetId).toBe(subnets[1]?.subnetId);
  });
});
