import { execFileSync } from "node:child_process";
import { controllerComputeStatements, NODE_ROLE_TRUST, nodeRoleStatements } from "./compute-policy";

// Shared cloud capacity: the network GPU nodes launch into, the node role the agent runs with, the
// bucket the agent tarball is read from, and the controller's least-privilege EC2 permissions
// (statements in compute-policy.ts, checked by test/infra/compute-policy.test.ts).

/** Where the packed agent lives in the artifacts bucket: the node role reads this prefix only. */
export const AGENT_PREFIX = "agent/";

// Nodes are reached through the agent's authenticating front from functions outside any VPC, so
// they sit in public subnets (one per zone) with public addresses, and no NAT is needed.
export const nodeNetwork = new sst.aws.Vpc("NodeNetwork", { az: 3 });

// Replica fronts listen on the platform's port range; every connection is TLS pinned by the
// gateway and authenticated per replica, so the range is open to the functions' (unfixed) addresses.
export const nodeSecurityGroup = new aws.ec2.SecurityGroup("NodeFronts", {
  vpcId: nodeNetwork.id,
  description: "InferenceKey replica fronts on GPU nodes",
  ingress: [{ protocol: "tcp", fromPort: 20000, toPort: 29999, cidrBlocks: ["0.0.0.0/0"], ipv6CidrBlocks: ["::/0"] }],
  egress: [{ protocol: "-1", fromPort: 0, toPort: 0, cidrBlocks: ["0.0.0.0/0"], ipv6CidrBlocks: ["::/0"] }],
});

export const nodeArtifacts = new sst.aws.Bucket("NodeArtifacts");

// The agent nodes run: packed at deploy (self-contained, same sources -> same bytes), uploaded under
// a key carrying its SHA-256, which the user data checks before running it.
const packedAgent = JSON.parse(
  execFileSync(process.execPath, ["packages/agent/scripts/pack-node-agent.mjs", ".sst/node-agent"], { encoding: "utf8" }),
) as { file: string; key: string; sha256: string };

export const nodeAgentTarball = new aws.s3.BucketObjectv2("NodeAgentTarball", {
  bucket: nodeArtifacts.name,
  key: packedAgent.key,
  source: new $util.asset.FileAsset(packedAgent.file),
});

export const nodeRole = new aws.iam.Role("NodeRole", {
  assumeRolePolicy: JSON.stringify(NODE_ROLE_TRUST),
  description: "GPU nodes: read the agent tarball, nothing else",
});

new aws.iam.RolePolicy("NodeRoleAgentTarball", {
  role: nodeRole.name,
  policy: nodeArtifacts.arn.apply((bucketArn) =>
    JSON.stringify({ Version: "2012-10-17", Statement: nodeRoleStatements({ bucketArn, agentPrefix: AGENT_PREFIX }) }),
  ),
});

export const nodeInstanceProfile = new aws.iam.InstanceProfile("NodeInstanceProfile", { role: nodeRole.name });

const identity = aws.getCallerIdentityOutput({});
const region = aws.getRegionOutput({});

/** Grants the controller's role exactly what the node pool needs (see compute-policy.ts). */
export function grantNodePool(name: string, role: $util.Input<string>) {
  return new aws.iam.RolePolicy(name, {
    role,
    policy: $util
      .all([identity.accountId, region.name, nodeRole.arn, nodeNetwork.publicSubnets, nodeSecurityGroup.id])
      .apply(([accountId, regionName, nodeRoleArn, subnetIds, securityGroupId]) =>
        JSON.stringify({
          Version: "2012-10-17",
          Statement: controllerComputeStatements({
            app: $app.name,
            stage: $app.stage,
            region: regionName,
            accountId,
            nodeRoleArn,
            subnetIds,
            securityGroupIds: [securityGroupId],
          }),
        }),
      ),
  });
}

/** What the controller reads to launch nodes (`nodePoolConfigFromEnv` in packages/aws reads it); plus INFERENCEKEY_AGENT_API_URL from controller.ts. */
export const nodePoolEnvironment = {
  INFERENCEKEY_APP: $app.name,
  INFERENCEKEY_STAGE: $app.stage,
  INFERENCEKEY_NODE_SUBNETS: $util.jsonStringify(nodeNetwork.publicSubnets),
  INFERENCEKEY_NODE_SECURITY_GROUP: nodeSecurityGroup.id,
  INFERENCEKEY_NODE_INSTANCE_PROFILE_ARN: nodeInstanceProfile.arn,
  INFERENCEKEY_NODE_ARTIFACTS_BUCKET: nodeArtifacts.name,
  INFERENCEKEY_NODE_AGENT_KEY: nodeAgentTarball.key,
  INFERENCEKEY_NODE_AGENT_SHA256: packedAgent.sha256,
};

export const outputs = { nodeArtifactsBucket: nodeArtifacts.name };
