import { createControlApi, type PlatformContext } from "@inferencekey/core";
import { DynamoStore, functionUrlResultFromResponse, lambdaEnvironment, requestFromFunctionUrlEvent } from "@inferencekey/aws";
import middy from "@middy/core";
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from "aws-lambda";

const env = lambdaEnvironment();
const ctx: PlatformContext = {
  store: new DynamoStore({ tableName: env.tableName }),
  serverSecret: env.serverSecret,
  now: () => new Date(),
};
const controlApi = createControlApi(ctx);

/** The control API behind a Lambda Function URL: the same Request -> Response handler as `npm start`. */
export const handler = middy<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2>().handler(async (event) =>
  functionUrlResultFromResponse(await controlApi(requestFromFunctionUrlEvent(event))),
);
