export { planReconcile, type PlanAction, type PlanInput } from "./plan";
export {
  type ControllerOptions,
  type ControllerState,
  isWorkerOnline,
  noSignals,
  readControllerState,
  reconcileAll,
  reconcileWorkload,
  type ReconcileOutcome,
  recordColdRequest,
  type SignalSource,
} from "./reconcile";
