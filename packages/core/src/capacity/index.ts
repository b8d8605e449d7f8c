export type { InstanceState, NodeLaunchOutcome, NodeLaunchRequest, NodeProvider, OwnedInstance } from "./node-provider";
export {
  type Allocation,
  capacityKeys,
  getNode,
  LAUNCH_TOKEN_TTL_MS,
  listNodes,
  newNodeId,
  nodeAssignments,
  type NodeRecord,
  type NodeState,
  nodeLaunchToken,
  nodeWorkerToken,
  recordBoot,
  redeemLaunchToken,
  updateNode,
} from "./nodes";
export { CAPACITY_SETTINGS_ENV, type CapacitySettings, DEFAULT_CAPACITY_SETTINGS, parseCapacitySettings } from "./settings";
export { deploymentBill, freeGpus, observedBootMs, SharedCloudCompute, type SharedCloudComputeOptions } from "./shared-compute";
export { addEstimatedCost, costHour, type PlacedStatus, readEstimatedCost, readPlacedStatus, writePlacedStatus } from "./status";
