import { REPLICA_PORT_RANGE } from "../packages/core/src/replicas/index";

// Where launched GPU nodes live: a VPC of this deployment with public subnets across availability
// zones and no NAT gateway (nodes have public addresses; idle, none of this costs anything:
// docs/deploy.md). The functions stay outside any VPC (a Function URL does not stream from a
// VPC-attached function) and reach replicas at the nodes' public addresses through each replica's
// TLS front (pinned certificate, replica secret checked there): the security group opens only the
// fronts' port range. Nodes reach the base URL, model hubs and registries through the internet gateway.
const CIDR = "10.60.0.0/16";
const SUBNETS = 3;

const zones = aws.getAvailabilityZonesOutput({ state: "available" });

export const nodeVpc = new aws.ec2.Vpc("NodeVpc", {
  cidrBlock: CIDR,
  enableDnsSupport: true,
  enableDnsHostnames: true,
  tags: { Name: `inferencekey-${$app.stage}-nodes` },
});

const internetGateway = new aws.ec2.InternetGateway("NodeInternetGateway", { vpcId: nodeVpc.id });

const publicRoutes = new aws.ec2.RouteTable("NodePublicRoutes", {
  vpcId: nodeVpc.id,
  routes: [{ cidrBlock: "0.0.0.0/0", gatewayId: internetGateway.id }],
});

export const nodeSubnets = Array.from({ length: SUBNETS }, (_, index) => {
  const subnet = new aws.ec2.Subnet(`NodePublicSubnet${index + 1}`, {
    vpcId: nodeVpc.id,
    cidrBlock: `10.60.${index * 16}.0/20`,
    // Regions with fewer zones reuse one: the subnets still spread over every zone there is.
    availabilityZone: zones.names.apply((names) => names[index % names.length] as string),
    mapPublicIpOnLaunch: true,
    tags: { Name: `inferencekey-${$app.stage}-nodes-public-${index + 1}` },
  });
  new aws.ec2.RouteTableAssociation(`NodePublicSubnet${index + 1}Routes`, { subnetId: subnet.id, routeTableId: publicRoutes.id });
  return subnet;
});

export const nodeSecurityGroup = new aws.ec2.SecurityGroup("NodeSecurityGroup", {
  vpcId: nodeVpc.id,
  description: "InferenceKey GPU nodes: replica fronts (TLS, replica secret) only",
  ingress: [
    {
      description: "replica fronts (the gateway runs outside any VPC, so from anywhere; the front authenticates)",
      protocol: "tcp",
      fromPort: REPLICA_PORT_RANGE.first,
      toPort: REPLICA_PORT_RANGE.last,
      cidrBlocks: ["0.0.0.0/0"],
    },
  ],
  egress: [{ description: "heartbeats to the base URL, model downloads", protocol: "-1", fromPort: 0, toPort: 0, cidrBlocks: ["0.0.0.0/0"] }],
});

export const outputs = { nodeVpc: nodeVpc.id };
