export { planReconcile, type PlanAction, type PlanInput } from "./plan";
export {
  type ControllerOptions,
  noSignals,
  reconcileAll,
  reconcileWorkload,
  type ReconcileOutcome,
  recordColdRequest,
  type SignalSource,
} from "./reconcile";
export { type ControllerState, readControllerState } from "./state";
