import { createControlApi } from "@inferencekey/core";
import { functionUrlResultFromResponse, lambdaPlatformContext, requestFromFunctionUrlEvent } from "@inferencekey/aws";
import middy from "@middy/core";
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from "aws-lambda";

const ctx = lambdaPlatformContext();
const controlApi = createControlApi(ctx);

/** The control API behind a Lambda Function URL: the same Request -> Response handler as `npm start`. */
export const handler = middy<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2>().handler(async (event) =>
  functionUrlResultFromResponse(await controlApi(requestFromFunctionUrlEvent(event))),
);
