import { serverSecret, table } from "./storage";

// The data gateway: ik_live_ keys are checked in code; the Function URL streams responses
// (RESPONSE_STREAM) so SSE chunks reach clients as replicas send them.
export const gateway = new sst.aws.Function("Gateway", {
  handler: "functions/gateway.handler",
  runtime: "nodejs22.x",
  streaming: true,
  url: true,
  link: [table, serverSecret],
  environment: { INFERENCEKEY_TABLE: table.name, INFERENCEKEY_SERVER_SECRET: serverSecret.value },
  // Generations can stream for minutes; the gateway's own idle timeouts end stalled ones sooner.
  timeout: "15 minutes",
  memory: "1024 MB",
});

export const outputs = { gatewayUrl: gateway.url };
