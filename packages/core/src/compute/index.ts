import type { PlatformContext } from "../platform/context";
import type { WorkloadRecord } from "../workloads";

/** A worker for the replica (with the GPUs it takes there, when the compute splits a machine), or why there is none now. */
export type Placement = { workerId: string; hourlyPriceUsd: number; gpuIndexes?: number[] } | { unavailable: string };

/**
 * The Compute port: capacity for workloads that name no private worker ("cloud" placement).
 * Adapters: the local machine under `npm start` (packages/local) and GPU EC2 instances (the compute
 * issue). Private workers need no adapter: they bring their own agent.
 */
export interface Compute {
  /**
   * A worker for one more replica of this workload, or why there is none right now. Called again
   * every tick until placed, with the same `replicaId` for the same replica: idempotent per id.
   */
  placeCloudReplica(ctx: PlatformContext, workload: WorkloadRecord, slot: number, replicaId?: string): Promise<Placement>;
  /** False when a port is taken on that worker's box by something the platform does not manage. */
  portUsable?(workerId: string, port: number): Promise<boolean>;
  /** Nominal price per hour of one more cloud worker for this workload (cost-ceiling accounting). */
  hourlyPrice?(workload: WorkloadRecord): number;
  /** Called when a cloud-placed replica is gone, so launched capacity can be released. Idempotent. */
  releaseCloudReplica?(ctx: PlatformContext, workerId: string, replicaId: string): Promise<void>;
  /**
   * Slots of the workload whose replica has no record yet because it waits for capacity (a node
   * being launched for it): the autoscaler counts them as booting, so it neither forgets them nor
   * scales below them while the capacity comes up.
   */
  awaitingCapacity?(ctx: PlatformContext, workload: WorkloadRecord): Promise<{ slot: number; since: string }[]>;
  /** Once per controller tick, after the workloads: the compute's own reconciling (shared capacity's node pool). */
  tick?(ctx: PlatformContext): Promise<void>;
}

/** For deployments without cloud capacity yet: every cloud placement is refused with the reason. */
export const noCloudCompute: Compute = {
  async placeCloudReplica() {
    return { unavailable: "no cloud compute is configured for this deployment; pin the workload to a private worker (worker_id)" };
  },
};
