import { createControlApi } from "@inferencekey/core";
import { functionUrlResultFromResponse, lambdaPlatformContext, requestFromFunctionUrlEvent } from "@inferencekey/aws";
import middy from "@middy/core";
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from "aws-lambda";

const ctx = lambdaPlatformContext();
// The answer is buffered within the function's 30 s timeout: a readiness stream ends after 25 s (its
// client reconnects) until the function URL streams responses as the gateway's does.
const controlApi = createControlApi(ctx, { readinessStream: { maxMs: 25_000 } });

/** The control API behind a Lambda Function URL: the same Request -> Response handler as `npm start`. */
export const handler = middy<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2>().handler(async (event) =>
  functionUrlResultFromResponse(await controlApi(requestFromFunctionUrlEvent(event))),
);
