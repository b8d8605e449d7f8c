import { functionUrlResultFromResponse, lambdaPlatformContext, requestFromFunctionUrlEvent } from "@inferencekey/aws";
import { createAgentApi } from "@inferencekey/core";
import middy from "@middy/core";
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from "aws-lambda";

const ctx = lambdaPlatformContext();
const agentApi = createAgentApi(ctx);

/** The agent API (worker-token heartbeats) behind a Function URL: the same handler `npm start` serves. */
export const handler = middy<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2>().handler(async (event) =>
  functionUrlResultFromResponse(await agentApi(requestFromFunctionUrlEvent(event))),
);
