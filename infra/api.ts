import { AWS_LIMITS } from "../packages/aws/src/deployment";
import { platformFunction, TABLE_ITEM_ACTIONS, tablePermissions } from "./functions";

// The control API (`/v1`, `/api` behind the Router): the ik_sdk_ bearer token is checked in code. It
// serves the console (`/console`) too: the built dashboard is copied beside its bundle.
export const controlApi = new sst.aws.Function(
  "ControlApi",
  platformFunction({
    service: "control-api",
    handler: "functions/control-api.handler",
    url: true,
    // Streamed like the gateway's: readiness event streams reach the client live, with keep-alives.
    streaming: true,
    timeout: `${AWS_LIMITS.controlApiTimeoutSeconds} seconds`,
    memory: "512 MB",
    permissions: tablePermissions(TABLE_ITEM_ACTIONS),
    copyFiles: [{ from: "packages/console/dist", to: "console" }],
  }),
);

export const outputs = {};
