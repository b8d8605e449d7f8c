import { grantNodePool, nodePoolEnvironment } from "./compute";
import { platformFunction, TABLE_ITEM_ACTIONS, tablePermissions } from "./functions";
import { jobsAccess } from "./queues";
import { router } from "./router";

// Both controller functions place cloud replicas on shared capacity (infra/compute.ts): the node
// pool's settings, and the base URL the nodes' agents register and heartbeat through (the Router,
// which adds the origin header the agent API checks).
const nodePool = { ...nodePoolEnvironment, INFERENCEKEY_AGENT_API_URL: router.url };

// The controller's project passes: the tick sends one message per project, a consumer reconciles
// each project's workloads side by side (docs/benchmarks.md, "controller fan-out"). A pass that
// could not run is delivered again, three times, then parked in the dead-letter queue (alarmed);
// the next tick sends a fresh one anyway.
export const projectPassesDlq = new sst.aws.Queue("ControllerProjectsDlq", {});

export const projectPasses = new sst.aws.Queue("ControllerProjects", {
  dlq: { queue: projectPassesDlq.arn, retry: 3 },
  // Above the consumer's timeout, so a pass still running is not delivered twice.
  visibilityTimeout: "90 seconds",
});

export const projectPassConsumer = projectPasses.subscribe(
  platformFunction({
    service: "controller-project",
    handler: "functions/controller-project.handler",
    timeout: "60 seconds",
    memory: "1024 MB",
    // The bus, for the workload.scaled / workload.ready events of the workloads each pass reconciles.
    environment: { ...nodePool, ...jobsAccess.environment },
    permissions: [...tablePermissions(TABLE_ITEM_ACTIONS), ...jobsAccess.permissions],
  }),
  // A failed project is reported alone (batchItemFailures), the rest of the batch is done.
  { batch: { size: 10, partialResponses: true } },
);

// The controller tick: EventBridge Scheduler every minute lists the projects and sends their passes.
// Level-triggered, so a failed tick is never retried (`retries: 0` on the schedule and on the
// asynchronous invocation): the next minute's tick does the same work with fresher state.
export const controllerTick = new sst.aws.CronV2("ControllerTick", {
  schedule: "rate(1 minute)",
  retries: 0,
  function: platformFunction({
    service: "controller",
    handler: "functions/controller-tick.handler",
    timeout: "55 seconds",
    memory: "1024 MB",
    retries: 0,
    // Job upkeep: re-sends to the job queue, lifecycle events on the bus, webhook retries.
    environment: { ...nodePool, ...jobsAccess.environment, INFERENCEKEY_CONTROLLER_QUEUE_URL: projectPasses.url },
    permissions: [
      ...tablePermissions(TABLE_ITEM_ACTIONS),
      ...jobsAccess.permissions,
      { actions: ["sqs:SendMessage"], resources: [projectPasses.arn] },
    ],
  }),
});

// The node pool: RunInstances only with our tags, Terminate/Stop only ours, PassRole only the node role.
grantNodePool("ControllerNodePool", controllerTick.nodes.function.nodes.role.name);
grantNodePool("ControllerProjectNodePool", projectPassConsumer.apply((consumer) => consumer.nodes.function.nodes.role.name));

export const outputs = {};
