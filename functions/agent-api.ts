import { lambdaPlatformContext } from "@inferencekey/aws/env";
import { functionUrlResultFromResponse, requestFromFunctionUrlEvent } from "@inferencekey/aws/lambda-http";
import { createAgentApi } from "@inferencekey/core";
import type { APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import { entryTools, functionUrlEntry } from "./lib/lambda-entry";

const tools = entryTools("agent-api");
const agentApi = createAgentApi(lambdaPlatformContext(tools.secrets));

/** The agent API (worker-token heartbeats) behind the Router (`/agent`): the same handler `npm start` serves. */
export const handler = functionUrlEntry<APIGatewayProxyStructuredResultV2>(tools).handler(async (event) =>
  functionUrlResultFromResponse(await agentApi(requestFromFunctionUrlEvent(event))),
);
