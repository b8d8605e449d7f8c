import { DynamoStore, functionUrlResultFromResponse, lambdaEnvironment, requestFromFunctionUrlEvent } from "@inferencekey/aws";
import { createAgentApi, type PlatformContext } from "@inferencekey/core";
import middy from "@middy/core";
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from "aws-lambda";

const env = lambdaEnvironment();
const ctx: PlatformContext = { store: new DynamoStore({ tableName: env.tableName }), serverSecret: env.serverSecret, now: () => new Date() };
const agentApi = createAgentApi(ctx);

/** The agent API (worker-token heartbeats) behind a Function URL: the same handler `npm start` serves. */
export const handler = middy<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2>().handler(async (event) =>
  functionUrlResultFromResponse(await agentApi(requestFromFunctionUrlEvent(event))),
);
