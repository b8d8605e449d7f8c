import { DescribeImagesCommand, DescribeSubnetsCommand, RunInstancesCommand } from "@aws-sdk/client-ec2";
import { afterAll, beforeAll } from "vitest";
import { describeNodeProviderContract } from "../../../test/contract/node-provider";
import { EMULATOR_CREDENTIALS } from "../../../test/support/dynalite";
import { createInstanceProfile, type RunningMoto, startMoto } from "../../../test/support/moto";
import { createEc2Client } from "../src/ec2-client";
import { Ec2NodeProvider } from "../src/ec2-node-provider";
import { subnetsWithZones } from "../src/node-pool-config";

// The EC2 adapter on moto passes the port's contract, the ClientToken case included: a repeated
// launch is found by its inferencekey:launch tag, so it holds where the emulator does not deduplicate.

let moto: RunningMoto;
let ec2: ReturnType<typeof createEc2Client>;

beforeAll(async () => {
  moto = await startMoto();
  ec2 = createEc2Client({ region: "us-east-1", endpoint: moto.endpoint, credentials: EMULATOR_CREDENTIALS });
}, 60_000);

afterAll(async () => {
  ec2?.destroy();
  await moto?.stop();
});

describeNodeProviderContract("Ec2NodeProvider on moto", async () => {
  await moto.reset();
  const instanceProfileArn = await createInstanceProfile(moto.endpoint, "ik-node");
  const defaults = await ec2.send(new DescribeSubnetsCommand({ Filters: [{ Name: "default-for-az", Values: ["true"] }] }));
  const subnets = await subnetsWithZones(ec2, (defaults.Subnets ?? []).map((s) => s.SubnetId ?? ""));
  const imageId = (await ec2.send(new DescribeImagesCommand({ Owners: ["amazon"] }))).Images?.[0]?.ImageId ?? "";
  const provider = new Ec2NodeProvider({
    ec2,
    app: "inferencekey",
    stage: "contract",
    subnets,
    securityGroupIds: [],
    instanceProfileArn,
    resolveImage: async () => imageId,
    renderUserData: (request) => `#!/bin/sh\n# ${request.nodeId}\n`,
  });
  return {
    provider,
    addForeignInstance: async () => {
      const run = await ec2.send(new RunInstancesCommand({ ImageId: imageId, InstanceType: "g6.xlarge", MinCount: 1, MaxCount: 1 }));
      return run.Instances?.[0]?.InstanceId ?? "";
    },
  };
});
