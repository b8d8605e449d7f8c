import { functionUrlResultFromResponse, lambdaPlatformContext, requestFromFunctionUrlEvent } from "@inferencekey/aws";
import { createControlApi } from "@inferencekey/core";
import type { APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import { entryTools, functionUrlEntry } from "./lib/lambda-entry";

const tools = entryTools("control-api");
const controlApi = createControlApi(lambdaPlatformContext(tools.secrets));

/** The control API behind the Router (`/v1`, `/api`): the same Request -> Response handler as `npm start`. */
export const handler = functionUrlEntry<APIGatewayProxyStructuredResultV2>(tools).handler(async (event) =>
  functionUrlResultFromResponse(await controlApi(requestFromFunctionUrlEvent(event))),
);
