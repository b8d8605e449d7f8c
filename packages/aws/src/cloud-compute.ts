import type { EC2Client } from "@aws-sdk/client-ec2";
import type { SSMClient } from "@aws-sdk/client-ssm";
import { type Compute, noCloudCompute, parseCapacitySettings, SharedCloudCompute } from "@inferencekey/core";

/**
 * The controller's Compute in AWS: shared cloud capacity on EC2 when infra/compute.ts configured a
 * node pool (INFERENCEKEY_NODE_SUBNETS and the rest), else `noCloudCompute` (private workers only,
 * cloud placements refused with the reason). Build it once per Lambda instance: it looks the
 * subnets' zones up and caches offerings between ticks.
 *
 * The EC2 and SSM clients are loaded here, on the first call with a node pool, not when the
 * controller's bundle loads: they cost several hundred ms of CPU that a deployment without a pool
 * never needs (docs/benchmarks.md, "Lambda bundle load").
 */
export async function cloudComputeFromEnv(
  env: NodeJS.ProcessEnv = process.env,
  options: { controllerId?: string; log?: (line: string) => void; clients?: { ec2: EC2Client; ssm: SSMClient } } = {},
): Promise<Compute> {
  if (!env.INFERENCEKEY_NODE_SUBNETS) return noCloudCompute;
  const [{ ec2NodeProviderFromConfig, nodePoolConfigFromEnv }, { createEc2Client, createSsmClient }] = await Promise.all([
    import("./node-pool-config"),
    import("./ec2-client"),
  ]);
  const config = nodePoolConfigFromEnv(env);
  if (config === undefined) return noCloudCompute;
  const clients = options.clients ?? { ec2: createEc2Client({ region: config.region }), ssm: createSsmClient({ region: config.region }) };
  const provider = await ec2NodeProviderFromConfig(config, clients);
  return new SharedCloudCompute(provider, parseCapacitySettings(env), {
    ...(options.controllerId === undefined ? {} : { controllerId: options.controllerId }),
    ...(options.log === undefined ? {} : { log: options.log }),
  });
}
