import { AWS_LIMITS } from "@inferencekey/aws/deployment";
import { lambdaConsoleAssets } from "@inferencekey/aws/console-assets";
import { lambdaPlatformContext } from "@inferencekey/aws/env";
import { requestFromFunctionUrlEvent } from "@inferencekey/aws/lambda-http";
import { createConsoleSite, createControlApi } from "@inferencekey/core";
import { entryTools, functionUrlEntry } from "./lib/lambda-entry";
import { type StreamedResult, streamedResult } from "./lib/streamed-response";

const tools = entryTools("control-api");
// Readiness streams live as long as a cold start takes (AWS_LIMITS.readinessStreamMaxMs), with a
// keep-alive comment every 15 s so CloudFront (60 s between bytes) never ends one.
const controlApi = createControlApi(lambdaPlatformContext(tools.secrets), {
  readinessStream: { maxMs: AWS_LIMITS.readinessStreamMaxMs, keepAliveMs: AWS_LIMITS.sseKeepAliveMs },
});
/**
 * Requests whose answer is still streaming. undici's Request follows the deadline's signal through a
 * weak reference: a Request collected mid-stream would no longer hear the deadline, so it is held
 * here until its body ends.
 */
const inFlight = new Set<Request>();
// `/console/...`: the dashboard's static files, with the same headers `npm start` serves them with.
const consoleSite = createConsoleSite(lambdaConsoleAssets());

/**
 * The control API and the console behind the Router (`/v1`, `/api`, `/console`): the handlers
 * `npm start` serves, from a Function URL in RESPONSE_STREAM mode, so a readiness event stream
 * (`.../readiness-events`) reaches the client event by event until the workload is ready (a
 * buffered URL would hold it to the end, and a client reads an early end as ready). Lambda does not
 * say when a client left: a stream ends at ready or error, at its lifetime, or at the invocation's
 * deadline less `AWS_LIMITS.controlApiCloseReserveMs`, whichever comes first.
 */
export const handler = functionUrlEntry<StreamedResult>(tools, { streamifyResponse: true }).handler(async (event, context) => {
  const deadline = new AbortController();
  const timer = setTimeout(
    () => deadline.abort(new Error("the invocation's deadline is near")),
    Math.max(0, context.getRemainingTimeInMillis() - AWS_LIMITS.controlApiCloseReserveMs),
  );
  const request = new Request(requestFromFunctionUrlEvent(event), { signal: deadline.signal });
  inFlight.add(request);
  const ended = async () => {
    clearTimeout(timer);
    inFlight.delete(request);
  };
  try {
    return await streamedResult((await consoleSite(request)) ?? (await controlApi(request)), ended);
  } catch (error) {
    await ended();
    throw error;
  }
});
