import { DescribeSubnetsCommand, type EC2Client } from "@aws-sdk/client-ec2";
import type { SSMClient } from "@aws-sdk/client-ssm";
import { Ec2NodeProvider, type NodeSubnet } from "./ec2-node-provider";
import { type NodeImageResolver, ssmNodeImageResolver } from "./node-image";
import { NODE_22_PACKAGE, renderNodeUserData } from "./node-user-data";

/** What the controller needs to launch nodes, set by infra/compute.ts and read here, in one place. */
export interface NodePoolConfig {
  app: string;
  stage: string;
  subnetIds: string[];
  securityGroupIds: string[];
  instanceProfileArn: string;
  artifactsBucket: string;
  /** The packed agent in the bucket and its SHA-256 (the node checks it before running it). */
  agentKey: string;
  agentSha256: string;
  /** Where nodes' agents reach the agent API (its function URL). */
  agentApiUrl: string;
  region: string;
}

/** Undefined when the deployment has no node pool (no INFERENCEKEY_NODE_SUBNETS): private workers only. */
export function nodePoolConfigFromEnv(env: NodeJS.ProcessEnv = process.env): NodePoolConfig | undefined {
  if (!env.INFERENCEKEY_NODE_SUBNETS) return undefined;
  const names = [
    "INFERENCEKEY_APP",
    "INFERENCEKEY_STAGE",
    "INFERENCEKEY_NODE_SECURITY_GROUP",
    "INFERENCEKEY_NODE_INSTANCE_PROFILE_ARN",
    "INFERENCEKEY_NODE_ARTIFACTS_BUCKET",
    "INFERENCEKEY_NODE_AGENT_KEY",
    "INFERENCEKEY_NODE_AGENT_SHA256",
    "INFERENCEKEY_AGENT_API_URL",
    "AWS_REGION",
  ];
  const missing = names.filter((name) => !env[name]);
  if (missing.length > 0) throw new Error(`node pool: missing environment ${missing.join(", ")} (set by infra/compute.ts)`);
  let subnetIds: unknown;
  try {
    subnetIds = JSON.parse(env.INFERENCEKEY_NODE_SUBNETS);
  } catch {
    subnetIds = undefined;
  }
  if (!Array.isArray(subnetIds) || subnetIds.length === 0 || !subnetIds.every((id) => typeof id === "string" && /^subnet-[0-9a-f]{8,17}$/.test(id))) {
    throw new Error(`node pool: INFERENCEKEY_NODE_SUBNETS ${JSON.stringify(env.INFERENCEKEY_NODE_SUBNETS.slice(0, 200))} is not a JSON array of subnet ids`);
  }
  return {
    app: env.INFERENCEKEY_APP as string,
    stage: env.INFERENCEKEY_STAGE as string,
    subnetIds: subnetIds as string[],
    securityGroupIds: [env.INFERENCEKEY_NODE_SECURITY_GROUP as string],
    instanceProfileArn: env.INFERENCEKEY_NODE_INSTANCE_PROFILE_ARN as string,
    artifactsBucket: env.INFERENCEKEY_NODE_ARTIFACTS_BUCKET as string,
    agentKey: env.INFERENCEKEY_NODE_AGENT_KEY as string,
    agentSha256: env.INFERENCEKEY_NODE_AGENT_SHA256 as string,
    agentApiUrl: env.INFERENCEKEY_AGENT_API_URL as string,
    region: env.AWS_REGION as string,
  };
}

/**
 * The deployment's EC2 node provider: subnets' zones looked up once, the Deep Learning AMI through
 * SSM (or `resolveImage`), and each launch's user data rendered from the configuration.
 */
export async function ec2NodeProviderFromConfig(
  config: NodePoolConfig,
  clients: { ec2: EC2Client; ssm: SSMClient },
  options: { resolveImage?: NodeImageResolver } = {},
): Promise<Ec2NodeProvider> {
  const subnets = await subnetsWithZones(clients.ec2, config.subnetIds);
  return new Ec2NodeProvider({
    ec2: clients.ec2,
    app: config.app,
    stage: config.stage,
    subnets,
    securityGroupIds: config.securityGroupIds,
    instanceProfileArn: config.instanceProfileArn,
    resolveImage: options.resolveImage ?? ssmNodeImageResolver(clients.ssm),
    renderUserData: (request) =>
      renderNodeUserData({
        baseUrl: config.agentApiUrl,
        launchToken: request.launchToken,
        nodeId: request.nodeId,
        region: config.region,
        node: NODE_22_PACKAGE,
        agent: { bucket: config.artifactsBucket, key: config.agentKey, sha256: config.agentSha256 },
        vllmVersions: request.vllmVersions ?? [],
      }),
  });
}

/** Each subnet's availability zone (DescribeSubnets): the pool launches an offering in the zone's subnet. */
export async function subnetsWithZones(ec2: EC2Client, subnetIds: readonly string[]): Promise<NodeSubnet[]> {
  const answer = await ec2.send(new DescribeSubnetsCommand({ SubnetIds: [...subnetIds] }));
  const subnets = (answer.Subnets ?? []).map((s) => ({ subnetId: s.SubnetId ?? "", availabilityZone: s.AvailabilityZone ?? "" }));
  const missing = subnetIds.filter((id) => !subnets.some((s) => s.subnetId === id));
  if (missing.length > 0) throw new Error(`node pool: subnets ${missing.join(", ")} were not found`);
  return subnets.sort((a, b) => a.availabilityZone.localeCompare(b.availabilityZone));
}
