import { createHash } from "node:crypto";
import {
  DescribeInstancesCommand,
  type DescribeInstancesCommandOutput,
  DescribeInstanceTypeOfferingsCommand,
  type EC2Client,
  type Filter,
  type Instance,
  RunInstancesCommand,
  type Tag,
  TerminateInstancesCommand,
} from "@aws-sdk/client-ec2";
import type { InstanceState, NodeLaunchOutcome, NodeLaunchRequest, NodeProvider, OwnedInstance } from "@inferencekey/core";
import type { NodeImageResolver } from "./node-image";

/** The tag keys every node carries from its creation: ownership (app, stage), identity (node, launch). */
export const NODE_TAGS = {
  app: "inferencekey:app",
  stage: "inferencekey:stage",
  node: "inferencekey:node",
  /** The launch's ClientToken: finds the instance of a launch whose answer was lost, on any EC2. */
  launch: "inferencekey:launch",
} as const;

export interface NodeSubnet {
  subnetId: string;
  availabilityZone: string;
}

export interface Ec2NodeProviderOptions {
  ec2: EC2Client;
  /** The SST app and stage: the ownership tags. Two stages in one account never see each other's nodes. */
  app: string;
  stage: string;
  /** One subnet per availability zone the pool may launch in. */
  subnets: readonly NodeSubnet[];
  securityGroupIds: readonly string[];
  /** The node role's instance profile (ARN): what the agent on the node may do, and nothing else. */
  instanceProfileArn: string;
  resolveImage: NodeImageResolver;
  /** The node's user data (plain text; encoded here), carrying the launch token. */
  renderUserData: (request: NodeLaunchRequest) => string;
  /** Root volume, when the image's default is too small for model weights. */
  rootVolume?: { deviceName: string; sizeGiB: number };
}

/** 64 hex characters (EC2 accepts up to 64): one per (deployment, node, attempt, offering). */
export function launchClientToken(deployment: string, request: Pick<NodeLaunchRequest, "nodeId" | "attempt" | "instanceType" | "availabilityZone">): string {
  return createHash("sha256")
    .update(JSON.stringify([deployment, request.nodeId, request.attempt, request.instanceType, request.availabilityZone]))
    .digest("hex");
}

/** The offering cannot be filled now; another type or AZ may be. */
const UNFULFILLABLE_CODES = new Set([
  "InsufficientInstanceCapacity",
  "InsufficientHostCapacity",
  "InsufficientReservedInstanceCapacity",
  "InsufficientCapacity",
  "InsufficientFreeAddressesInSubnet",
  // The type is not sold in this AZ (DescribeInstanceTypeOfferings was stale or skipped).
  "Unsupported",
]);

/** Account quotas: no offering helps until the quota is raised. */
const QUOTA_CODES = new Set(["VcpuLimitExceeded", "InstanceLimitExceeded", "MaxSpotInstanceCountExceeded", "VolumeLimitExceeded", "AddressLimitExceeded"]);

/** Transient on EC2's side: the SDK already retried; the controller tries again next tick. */
const RETRYABLE_CODES = new Set(["RequestLimitExceeded", "InternalError", "ServiceUnavailable", "Unavailable", "TimeoutError", "IdempotentParameterMismatch"]);

/**
 * The Service Quotas name of what VcpuLimitExceeded hit, from the instance family: on-demand vCPU
 * quotas are per family group (P, G and VT, standard...).
 */
export function quotaName(code: string, instanceType: string): string {
  if (code === "VcpuLimitExceeded") {
    const family = instanceType.split(".")[0]?.replace(/\d.*$/, "") ?? "";
    if (family === "p") return "Running On-Demand P instances (L-417A185B, vCPUs)";
    if (family === "g" || family === "vt") return "Running On-Demand G and VT instances (L-DB2E81BA, vCPUs)";
    if (family === "inf") return "Running On-Demand Inf instances (L-1945791B, vCPUs)";
    if (family === "trn") return "Running On-Demand Trn instances (L-2C3B7624, vCPUs)";
    return "Running On-Demand Standard instances (L-1216C47A, vCPUs)";
  }
  if (code === "InstanceLimitExceeded") return "EC2 instance count limit for this type";
  if (code === "VolumeLimitExceeded") return "EBS storage limit";
  if (code === "AddressLimitExceeded") return "Elastic IP addresses";
  return code;
}

function errorCode(error: unknown): string {
  const named = error as { name?: unknown; Code?: unknown };
  if (typeof named.Code === "string") return named.Code;
  return typeof named.name === "string" ? named.name : "Error";
}

function errorMessage(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).slice(0, 500);
}

const STATES: ReadonlySet<string> = new Set(["pending", "running", "stopping", "stopped", "shutting-down", "terminated"]);

/** Node providers on EC2: see the NodeProvider port. Every call names only instances with our tags. */
export class Ec2NodeProvider implements NodeProvider {
  readonly #options: Ec2NodeProviderOptions;
  readonly #deployment: string;

  constructor(options: Ec2NodeProviderOptions) {
    if (options.subnets.length === 0) throw new Error("Ec2NodeProvider needs at least one subnet (one per availability zone)");
    this.#options = options;
    this.#deployment = `${options.app}/${options.stage}`;
  }

  #ownerFilters(): Filter[] {
    return [
      { Name: `tag:${NODE_TAGS.app}`, Values: [this.#options.app] },
      { Name: `tag:${NODE_TAGS.stage}`, Values: [this.#options.stage] },
    ];
  }

  async #describe(filters: Filter[]): Promise<Instance[]> {
    const instances: Instance[] = [];
    let nextToken: string | undefined;
    // Bounded: 100 pages of up to 1,000 instances is far beyond any pool.
    for (let page = 0; page < 100; page++) {
      const answer: DescribeInstancesCommandOutput = await this.#options.ec2.send(
        new DescribeInstancesCommand({ Filters: filters, MaxResults: 1000, ...(nextToken === undefined ? {} : { NextToken: nextToken }) }),
      );
      for (const reservation of answer.Reservations ?? []) instances.push(...(reservation.Instances ?? []));
      nextToken = answer.NextToken;
      if (nextToken === undefined || nextToken === "") break;
    }
    return instances;
  }

  async launch(request: NodeLaunchRequest): Promise<NodeLaunchOutcome> {
    const options = this.#options;
    const subnet = options.subnets.find((s) => s.availabilityZone === request.availabilityZone);
    if (subnet === undefined) {
      return {
        kind: "failed",
        code: "NoSubnetInZone",
        message: `no subnet configured in ${request.availabilityZone}; configured zones: ${options.subnets.map((s) => s.availabilityZone).join(", ")}`,
        retryable: false,
      };
    }
    const clientToken = launchClientToken(this.#deployment, request);
    try {
      // A launch whose answer was lost (or a concurrent tick's) already made the instance: find it
      // by its token's tag. EC2 would also answer a repeated ClientToken with the same instance.
      const existing = await this.#findLaunch(clientToken);
      if (existing !== undefined) return launched(existing);

      const imageId = await options.resolveImage(request.cudaVersion);
      const tags: Tag[] = [
        { Key: NODE_TAGS.app, Value: options.app },
        { Key: NODE_TAGS.stage, Value: options.stage },
        { Key: NODE_TAGS.node, Value: request.nodeId },
        { Key: NODE_TAGS.launch, Value: clientToken },
        { Key: "Name", Value: `${options.app}-${options.stage}-${request.nodeId}` },
      ];
      const answer = await options.ec2.send(
        new RunInstancesCommand({
          ClientToken: clientToken,
          ImageId: imageId,
          InstanceType: request.instanceType as never,
          MinCount: 1,
          MaxCount: 1,
          SubnetId: subnet.subnetId,
          SecurityGroupIds: [...options.securityGroupIds],
          IamInstanceProfile: { Arn: options.instanceProfileArn },
          UserData: Buffer.from(options.renderUserData(request), "utf8").toString("base64"),
          // IMDSv2 only, one hop: a container on the node cannot reach the node's credentials.
          MetadataOptions: { HttpTokens: "required", HttpPutResponseHopLimit: 1, HttpEndpoint: "enabled", InstanceMetadataTags: "disabled" },
          // A node that shuts itself down is gone, not a stopped instance still holding its volume.
          InstanceInitiatedShutdownBehavior: "terminate",
          TagSpecifications: [
            { ResourceType: "instance", Tags: tags },
            { ResourceType: "volume", Tags: tags },
          ],
          ...(options.rootVolume === undefined
            ? {}
            : {
                BlockDeviceMappings: [
                  {
                    DeviceName: options.rootVolume.deviceName,
                    Ebs: { VolumeSize: options.rootVolume.sizeGiB, VolumeType: "gp3", Encrypted: true, DeleteOnTermination: true },
                  },
                ],
              }),
        }),
      );
      const instance = answer.Instances?.[0];
      if (instance?.InstanceId === undefined) {
        return { kind: "failed", code: "EmptyAnswer", message: "RunInstances answered without an instance", retryable: true };
      }
      return launched(instance);
    } catch (error) {
      return this.#launchFailure(error, request, clientToken);
    }
  }

  async #findLaunch(clientToken: string): Promise<Instance | undefined> {
    const found = await this.#describe([...this.#ownerFilters(), { Name: `tag:${NODE_TAGS.launch}`, Values: [clientToken] }]);
    return found.find((instance) => instance.State?.Name !== "terminated" && instance.State?.Name !== "shutting-down");
  }

  async #launchFailure(error: unknown, request: NodeLaunchRequest, clientToken: string): Promise<NodeLaunchOutcome> {
    const code = errorCode(error);
    const message = errorMessage(error);
    if (UNFULFILLABLE_CODES.has(code)) {
      return { kind: "unavailable", instanceType: request.instanceType, availabilityZone: request.availabilityZone, code, message };
    }
    if (QUOTA_CODES.has(code)) return { kind: "quota_exceeded", quota: quotaName(code, request.instanceType), code, message };
    if (code === "IdempotentParameterMismatch") {
      // The same token launched with other parameters (a newer image, a new launch token): that instance is this launch.
      const existing = await this.#findLaunch(clientToken).catch(() => undefined);
      if (existing !== undefined) return launched(existing);
    }
    const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    const retryable = RETRYABLE_CODES.has(code) || status === undefined || status >= 500;
    return { kind: "failed", code, message, retryable };
  }

  async terminate(instanceIds: readonly string[]): Promise<void> {
    if (instanceIds.length === 0) return;
    const unique = [...new Set(instanceIds)];
    // Check before terminating: only instances carrying both our tags, looked up by filter (an
    // id that no longer exists simply matches nothing rather than failing the call).
    const ours: string[] = [];
    for (let start = 0; start < unique.length; start += 200) {
      const batch = unique.slice(start, start + 200);
      const found = await this.#describe([...this.#ownerFilters(), { Name: "instance-id", Values: batch }]);
      for (const instance of found) {
        if (instance.InstanceId !== undefined && instance.State?.Name !== "terminated") ours.push(instance.InstanceId);
      }
    }
    if (ours.length === 0) return;
    try {
      await this.#options.ec2.send(new TerminateInstancesCommand({ InstanceIds: ours }));
    } catch (error) {
      if (errorCode(error) !== "InvalidInstanceID.NotFound") throw error;
      // One of them vanished between the check and the call: the rest still need terminating.
      for (const id of ours) {
        try {
          await this.#options.ec2.send(new TerminateInstancesCommand({ InstanceIds: [id] }));
        } catch (single) {
          if (errorCode(single) !== "InvalidInstanceID.NotFound") throw single;
        }
      }
    }
  }

  async listOwned(): Promise<OwnedInstance[]> {
    const instances = await this.#describe(this.#ownerFilters());
    const owned: OwnedInstance[] = [];
    for (const instance of instances) {
      if (instance.InstanceId === undefined) continue;
      const state = instance.State?.Name ?? "pending";
      const nodeId = instance.Tags?.find((t) => t.Key === NODE_TAGS.node)?.Value;
      owned.push({
        instanceId: instance.InstanceId,
        ...(nodeId === undefined ? {} : { nodeId }),
        state: (STATES.has(state) ? state : "pending") as InstanceState,
        instanceType: instance.InstanceType ?? "",
        availabilityZone: instance.Placement?.AvailabilityZone ?? "",
        launchedAt: instance.LaunchTime ?? new Date(0),
        ...(instance.PublicIpAddress === undefined ? {} : { publicIp: instance.PublicIpAddress }),
        ...(instance.PrivateIpAddress === undefined ? {} : { privateIp: instance.PrivateIpAddress }),
      });
    }
    return owned;
  }

  /** Offerings in the zones the pool has subnets in: a type sold only elsewhere cannot be launched. */
  async offerings(instanceTypes: readonly string[]): Promise<Array<{ instanceType: string; availabilityZone: string }>> {
    if (instanceTypes.length === 0) return [];
    const zones = new Set(this.#options.subnets.map((s) => s.availabilityZone));
    const offered: Array<{ instanceType: string; availabilityZone: string }> = [];
    let nextToken: string | undefined;
    for (let page = 0; page < 100; page++) {
      const answer = await this.#options.ec2.send(
        new DescribeInstanceTypeOfferingsCommand({
          LocationType: "availability-zone",
          Filters: [
            { Name: "instance-type", Values: [...instanceTypes] },
            { Name: "location", Values: [...zones] },
          ],
          MaxResults: 1000,
          ...(nextToken === undefined ? {} : { NextToken: nextToken }),
        }),
      );
      for (const offering of answer.InstanceTypeOfferings ?? []) {
        if (offering.InstanceType === undefined || offering.Location === undefined || !zones.has(offering.Location)) continue;
        offered.push({ instanceType: offering.InstanceType, availabilityZone: offering.Location });
      }
      nextToken = answer.NextToken;
      if (nextToken === undefined || nextToken === "") break;
    }
    return offered;
  }
}

function launched(instance: Instance): NodeLaunchOutcome {
  return {
    kind: "launched",
    instanceId: instance.InstanceId ?? "",
    ...(instance.PublicIpAddress === undefined ? {} : { publicIp: instance.PublicIpAddress }),
    ...(instance.PrivateIpAddress === undefined ? {} : { privateIp: instance.PrivateIpAddress }),
  };
}
