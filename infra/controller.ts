import { platformFunction, TABLE_ITEM_ACTIONS, tablePermissions } from "./functions";

// The controller tick: EventBridge Scheduler every minute runs the reconcile loop. Level-triggered,
// so a failed tick is never retried (`retries: 0` on the schedule and on the asynchronous
// invocation): the next minute's tick does the same work with fresher state.
export const controllerTick = new sst.aws.CronV2("ControllerTick", {
  schedule: "rate(1 minute)",
  retries: 0,
  function: platformFunction({
    service: "controller",
    handler: "functions/controller-tick.handler",
    timeout: "55 seconds",
    memory: "1024 MB",
    retries: 0,
    permissions: tablePermissions(TABLE_ITEM_ACTIONS),
  }),
});

export const outputs = {};
