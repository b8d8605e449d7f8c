export { planReconcile, type PlanAction, type PlanInput } from "./plan";
export {
  type ControllerOptions,
  type DecisionChange,
  noSignals,
  reconcileAll,
  reconcileWorkload,
  type ReconcileOutcome,
  recordColdRequest,
  type SignalSource,
} from "./reconcile";
export { DEFAULT_FAILED_RETRY, type FailedRetryPolicy, failedRetryDelayMs, planRetries, type RetryAction } from "./retry";
export { type ControllerState, readControllerState } from "./state";
export {
  fanOutTick,
  InProcessProjectDispatcher,
  PROJECT_TICK_STALE_MS,
  type ProjectPassOptions,
  type ProjectPassResult,
  type ProjectTick,
  type ProjectTickDispatcher,
  reconcileProject,
  rollUpProjectUsage,
  runProjectTick,
  usageRollUpMarker,
} from "./fanout";
