import type { InstanceState, NodeLaunchOutcome, NodeLaunchRequest, NodeProvider, OwnedInstance } from "../../src";

/** An instance in the fake cloud; `ours` is false for instances without this deployment's tags. */
export interface FakeInstance extends OwnedInstance {
  ours: boolean;
  clientToken?: string;
}

/**
 * A NodeProvider over an in-memory cloud that injects the faults EC2 has: lost launch responses
 * (the instance is created, the answer never arrives), capacity errors per (type, AZ), quota errors,
 * terminate faults, listing faults. Launches are deduplicated by ClientToken as EC2 does, so a retry
 * of a lost launch finds its instance. Nodes never become ready on their own: `bootedInstances`
 * tells the test which instances booted (an agent would register), skipping `neverReady` types.
 */
export class FaultyNodeProvider implements NodeProvider {
  readonly instances = new Map<string, FakeInstance>();
  readonly launches: NodeLaunchRequest[] = [];
  readonly terminateCalls: string[][] = [];
  /** Launch responses to lose (the instance is created, the call throws). */
  loseLaunchResponses = 0;
  /** `type@az` offerings that answer InsufficientInstanceCapacity. */
  readonly unavailable = new Set<string>();
  /** Launch calls to answer with a retryable failure (RequestLimitExceeded), creating nothing. */
  failLaunches = 0;
  /** Instance types refused by an account quota. */
  readonly quotaExceeded = new Set<string>();
  /** Terminate calls to fail before one succeeds. */
  terminateFaults = 0;
  listFaults = 0;
  /** Instance types whose agent never registers. */
  readonly neverReady = new Set<string>();
  private serial = 0;

  constructor(
    private readonly now: () => number,
    readonly zones: readonly string[] = ["us-east-1a", "us-east-1b"],
  ) {}

  /** The ClientToken the EC2 adapter derives: the same request, the same token. */
  static clientToken(request: NodeLaunchRequest): string {
    return `${request.nodeId}:${request.attempt}:${request.instanceType}@${request.availabilityZone}`;
  }

  async launch(request: NodeLaunchRequest): Promise<NodeLaunchOutcome> {
    this.launches.push(request);
    const token = FaultyNodeProvider.clientToken(request);
    const existing = [...this.instances.values()].find((i) => i.clientToken === token);
    if (existing !== undefined) return { kind: "launched", instanceId: existing.instanceId, privateIp: existing.privateIp as string };
    if (this.failLaunches > 0) {
      this.failLaunches -= 1;
      return { kind: "failed", code: "RequestLimitExceeded", message: "Request limit exceeded.", retryable: true };
    }
    if (this.quotaExceeded.has(request.instanceType)) {
      return { kind: "quota_exceeded", quota: "Running On-Demand P instances", code: "VcpuLimitExceeded", message: "You have requested more vCPU capacity than your current vCPU limit of 0" };
    }
    if (this.unavailable.has(`${request.instanceType}@${request.availabilityZone}`)) {
      return { kind: "unavailable", instanceType: request.instanceType, availabilityZone: request.availabilityZone, code: "InsufficientInstanceCapacity", message: "no capacity" };
    }
    this.serial += 1;
    const instance: FakeInstance = {
      instanceId: `i-${this.serial.toString(16).padStart(17, "0")}`,
      nodeId: request.nodeId,
      state: "pending",
      instanceType: request.instanceType,
      availabilityZone: request.availabilityZone,
      launchedAt: new Date(this.now()),
      privateIp: `10.0.0.${this.serial}`,
      ours: true,
      clientToken: token,
    };
    this.instances.set(instance.instanceId, instance);
    if (this.loseLaunchResponses > 0) {
      this.loseLaunchResponses -= 1;
      throw new Error("socket hang up (the launch response was lost)");
    }
    return { kind: "launched", instanceId: instance.instanceId, privateIp: instance.privateIp as string };
  }

  async terminate(instanceIds: readonly string[]): Promise<void> {
    this.terminateCalls.push([...instanceIds]);
    if (this.terminateFaults > 0) {
      this.terminateFaults -= 1;
      throw new Error("RequestLimitExceeded");
    }
    for (const id of instanceIds) {
      const instance = this.instances.get(id);
      if (instance === undefined) continue;
      if (!instance.ours) throw new Error(`UnauthorizedOperation: ${id} does not carry this deployment's tags`);
      if (instance.state !== "terminated") instance.state = "shutting-down";
    }
  }

  async listOwned(): Promise<OwnedInstance[]> {
    if (this.listFaults > 0) {
      this.listFaults -= 1;
      throw new Error("ServiceUnavailable");
    }
    // Time passes between calls: pending instances run, shutting-down ones are gone.
    for (const instance of this.instances.values()) {
      if (instance.state === "pending") instance.state = "running";
      else if (instance.state === "shutting-down") instance.state = "terminated";
    }
    return [...this.instances.values()].filter((i) => i.ours).map(({ ours: _ours, clientToken: _token, ...rest }) => ({ ...rest }));
  }

  async offerings(instanceTypes: readonly string[]): Promise<Array<{ instanceType: string; availabilityZone: string }>> {
    return instanceTypes.flatMap((instanceType) => this.zones.map((availabilityZone) => ({ instanceType, availabilityZone })));
  }

  /** An instance someone else launched (no tags of ours) or tagged by hand. */
  addInstance(instance: Omit<FakeInstance, "launchedAt" | "state"> & { launchedAt?: Date; state?: InstanceState }): FakeInstance {
    const full: FakeInstance = { state: "running", launchedAt: new Date(this.now()), ...instance };
    this.instances.set(full.instanceId, full);
    return full;
  }

  /** Instances that exist now (pending, running or shutting down). */
  live(): FakeInstance[] {
    return [...this.instances.values()].filter((i) => i.state !== "terminated");
  }

  /** Instances up for at least `bootMs` whose agent would have registered by now. */
  bootedInstances(bootMs: number): FakeInstance[] {
    return [...this.instances.values()].filter(
      (i) => i.ours && i.state === "running" && !this.neverReady.has(i.instanceType) && this.now() - i.launchedAt.getTime() >= bootMs,
    );
  }
}
