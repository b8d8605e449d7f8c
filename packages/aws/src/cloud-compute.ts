import { type Compute, noCloudCompute, parseCapacitySettings, SharedCloudCompute } from "@inferencekey/core";
import type { EC2Client } from "@aws-sdk/client-ec2";
import type { SSMClient } from "@aws-sdk/client-ssm";
import { createEc2Client, createSsmClient } from "./ec2-client";
import { ec2NodeProviderFromConfig, nodePoolConfigFromEnv } from "./node-pool-config";

/**
 * The controller's Compute in AWS: shared cloud capacity on EC2 when infra/compute.ts configured a
 * node pool (INFERENCEKEY_NODE_SUBNETS and the rest), else `noCloudCompute` (private workers only,
 * cloud placements refused with the reason). Build it once per Lambda instance: it looks the
 * subnets' zones up and caches offerings between ticks.
 */
export async function cloudComputeFromEnv(
  env: NodeJS.ProcessEnv = process.env,
  options: { controllerId?: string; log?: (line: string) => void; clients?: { ec2: EC2Client; ssm: SSMClient } } = {},
): Promise<Compute> {
  const config = nodePoolConfigFromEnv(env);
  if (config === undefined) return noCloudCompute;
  const clients = options.clients ?? { ec2: createEc2Client({ region: config.region }), ssm: createSsmClient({ region: config.region }) };
  const provider = await ec2NodeProviderFromConfig(config, clients);
  return new SharedCloudCompute(provider, parseCapacitySettings(env), {
    ...(options.controllerId === undefined ? {} : { controllerId: options.controllerId }),
    ...(options.log === undefined ? {} : { log: options.log }),
  });
}
