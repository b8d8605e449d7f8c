import { platformFunction, TABLE_ITEM_ACTIONS, tablePermissions } from "./functions";

// The agent API (`/agent` behind the Router): workers (private boxes, launched instances)
// heartbeat here with their ik_wrk_ token.
export const agentApi = new sst.aws.Function(
  "AgentApi",
  platformFunction({
    service: "agent-api",
    handler: "functions/agent-api.handler",
    url: true,
    timeout: "30 seconds",
    memory: "512 MB",
    permissions: tablePermissions(TABLE_ITEM_ACTIONS),
  }),
);

export const outputs = {};
