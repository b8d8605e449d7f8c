export { planReconcile, type PlanAction, type PlanInput } from "./plan";
export { isWorkerOnline, reconcileAll, reconcileWorkload, type ReconcileOutcome } from "./reconcile";
