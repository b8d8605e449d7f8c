import { lambdaConsoleAssets } from "@inferencekey/aws/console-assets";
import { lambdaPlatformContext } from "@inferencekey/aws/env";
import { functionUrlResultFromResponse, requestFromFunctionUrlEvent } from "@inferencekey/aws/lambda-http";
import { createConsoleSite, createControlApi } from "@inferencekey/core";
import type { APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import { entryTools, functionUrlEntry } from "./lib/lambda-entry";

const tools = entryTools("control-api");
// The answer is buffered within the function's 30 s timeout: a readiness stream ends after 25 s (its
// client reconnects) until the function URL streams responses as the gateway's does.
const controlApi = createControlApi(lambdaPlatformContext(tools.secrets), { readinessStream: { maxMs: 25_000 } });
// `/console/...`: the dashboard's static files, with the same headers `npm start` serves them with.
const consoleSite = createConsoleSite(lambdaConsoleAssets());

/** The control API and the console behind the Router (`/v1`, `/api`, `/console`): the handlers `npm start` serves. */
export const handler = functionUrlEntry<APIGatewayProxyStructuredResultV2>(tools).handler(async (event) => {
  const request = requestFromFunctionUrlEvent(event);
  return functionUrlResultFromResponse((await consoleSite(request)) ?? (await controlApi(request)));
});
