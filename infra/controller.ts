import { grantNodePool, nodePoolEnvironment } from "./compute";
import { serverSecret, table } from "./storage";

// The agent API: workers (private boxes, launched instances) heartbeat here with their ik_wrk_ token.
export const agentApi = new sst.aws.Function("AgentApi", {
  handler: "functions/agent-api.handler",
  runtime: "nodejs22.x",
  url: true,
  link: [table, serverSecret],
  environment: { INFERENCEKEY_TABLE: table.name, INFERENCEKEY_SERVER_SECRET: serverSecret.value },
  timeout: "30 seconds",
});

// The controller tick: EventBridge every minute runs the reconcile loop (level-triggered; overlapping
// runs skip workloads whose lease is held).
export const controllerTick = new sst.aws.Cron("ControllerTick", {
  schedule: "rate(1 minute)",
  function: {
    handler: "functions/controller-tick.handler",
    runtime: "nodejs22.x",
    link: [table, serverSecret],
    environment: {
      INFERENCEKEY_TABLE: table.name,
      INFERENCEKEY_SERVER_SECRET: serverSecret.value,
      ...nodePoolEnvironment,
      // Nodes' agents register and heartbeat here.
      INFERENCEKEY_AGENT_API_URL: agentApi.url,
    },
    timeout: "55 seconds",
    memory: "1024 MB",
  },
});

// The node pool: RunInstances only with our tags, Terminate/Stop only ours, PassRole only the node role.
grantNodePool("ControllerNodePool", controllerTick.nodes.job.nodes.role.name);

export const outputs = { agentApiUrl: agentApi.url };
