/**
 * The NodeProvider port: the cloud's GPU instances ("nodes") that the deployment owns and shares
 * between workloads. The controller decides which nodes exist (bin-packing, ceilings,
 * consolidation); a provider only launches, terminates and lists them. Adapters: EC2
 * (packages/aws) and in-memory fakes for tests. Every call is idempotent.
 */

/** One launch attempt of a node on one offering (instance type in one availability zone). */
export interface NodeLaunchRequest {
  /** The node's id in the store (`node_...`), tagged on the instance at creation. */
  nodeId: string;
  /** Recorded by a conditional write before the call; a fallback to another offering is a new attempt. */
  attempt: number;
  instanceType: string;
  availabilityZone: string;
  /** The CUDA version the node's image must support (highest the placed workloads allow). */
  cudaVersion: string;
  /** One-time agent registration token, bound to the node; reaches the instance only in its user data. */
  launchToken: string;
  /** The `vllm_version`s the workloads placed on the node pin: its install phase builds an environment for each. */
  vllmVersions?: readonly string[];
}

export type NodeLaunchOutcome =
  | { kind: "launched"; instanceId: string; publicIp?: string; privateIp?: string }
  /** The offering cannot be filled now (InsufficientInstanceCapacity and kin): mark it unavailable for a while, fall back. */
  | { kind: "unavailable"; instanceType: string; availabilityZone: string; code: string; message: string }
  /** An account quota stops every launch of this kind (VcpuLimitExceeded and kin), named. */
  | { kind: "quota_exceeded"; quota: string; code: string; message: string }
  | { kind: "failed"; code: string; message: string; retryable: boolean };

export type InstanceState = "pending" | "running" | "stopping" | "stopped" | "shutting-down" | "terminated";

/** An instance carrying this deployment's ownership tags (app and stage), as the cloud reports it. */
export interface OwnedInstance {
  instanceId: string;
  /** The `node_...` tag, absent when an instance was tagged by hand or half-created. */
  nodeId?: string;
  state: InstanceState;
  instanceType: string;
  availabilityZone: string;
  launchedAt: Date;
  publicIp?: string;
  privateIp?: string;
}

export interface NodeProvider {
  /** Launches (or, with the same request, finds the instance an earlier lost response launched). */
  launch(request: NodeLaunchRequest): Promise<NodeLaunchOutcome>;
  /** Terminates; an instance already gone counts as terminated. Never touches an instance without our tags. */
  terminate(instanceIds: readonly string[]): Promise<void>;
  /** Every instance with this deployment's app and stage tags, in any state. */
  listOwned(): Promise<OwnedInstance[]>;
  /** Instance types offered per availability zone (DescribeInstanceTypeOfferings), when the provider knows. */
  offerings?(instanceTypes: readonly string[]): Promise<Array<{ instanceType: string; availabilityZone: string }>>;
}
