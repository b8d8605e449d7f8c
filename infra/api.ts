import { serverSecret, table } from "./storage";

// The control API: one Lambda behind a Function URL (auth is the ik_sdk_ bearer token, checked in code).
export const controlApi = new sst.aws.Function("ControlApi", {
  handler: "functions/control-api.handler",
  runtime: "nodejs22.x",
  url: true,
  link: [table, serverSecret],
  environment: {
    INFERENCEKEY_TABLE: table.name,
    INFERENCEKEY_SERVER_SECRET: serverSecret.value,
  },
  timeout: "30 seconds",
  memory: "512 MB",
});

export const outputs = { controlApiUrl: controlApi.url };
