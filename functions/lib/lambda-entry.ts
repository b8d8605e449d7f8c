import { Logger } from "@aws-lambda-powertools/logger";
import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import { Metrics, MetricUnit } from "@aws-lambda-powertools/metrics";
import { logMetrics } from "@aws-lambda-powertools/metrics/middleware";
import type { Tracer } from "@aws-lambda-powertools/tracer";
import { FUNCTION_ENV, isOriginHeaderValid, ORIGIN_HEADER } from "@inferencekey/aws/deployment";
import { ServerSecretHolder } from "@inferencekey/aws/env";
import { functionUrlResultFromResponse } from "@inferencekey/aws/lambda-http";
import { SsmParameter } from "@inferencekey/aws/ssm-parameter";
import { ForbiddenError, errorResponse, newId } from "@inferencekey/core";
import middy, { type MiddlewareObj, type MiddyfiedHandler } from "@middy/core";
import type { APIGatewayProxyEventV2 } from "aws-lambda";

/**
 * The cross-cutting work of every Lambda entry, as middy middlewares, so the entries stay a few
 * lines: Powertools logger (JSON lines with the Lambda request id), metrics (EMF, cold starts
 * included) and, when the deployment turned X-Ray tracing on, tracer; the server secret read from
 * SSM at init (cached, so a rotated value arrives within `SERVER_SECRET_CACHE_MS`), and for
 * Function URL entries the origin check that refuses requests that did not come through the Router.
 */

/**
 * The tracer's module, loaded at init only when the deployment turned tracing on
 * (`INFERENCEKEY_TRACING=active`, infra/options.ts): otherwise no cold start pays for the X-Ray SDK.
 */
const tracing = process.env[FUNCTION_ENV.tracing] === "active" ? await import("./tracing") : undefined;

/** How long an instance keeps the SSM value before reading it again (rotation takes effect within this). */
export const SERVER_SECRET_CACHE_MS = 5 * 60_000;

export interface EntryTools {
  logger: Logger;
  metrics: Metrics;
  /** Undefined when tracing is off. */
  tracer: Tracer | undefined;
  /** The server secret keyring, filled before each invocation; pass it to `lambdaPlatformContext`. */
  secrets: ServerSecretHolder;
}

/** Powertools and the secret holder for one entry; `serviceName` names it in logs, metrics and traces. */
export function entryTools(serviceName: string): EntryTools {
  return {
    logger: new Logger({ serviceName }),
    metrics: new Metrics({ serviceName, namespace: process.env.POWERTOOLS_METRICS_NAMESPACE ?? "InferenceKey" }),
    tracer: tracing?.createTracer(serviceName),
    secrets: new ServerSecretHolder(),
  };
}

/**
 * The secrets middleware: reads the server secret keyring from its SSM SecureString parameter,
 * starting at init (the read overlaps the rest of the cold start), into the holder before each
 * call; the cached value is read again after `SERVER_SECRET_CACHE_MS`.
 */
function serverSecretMiddleware<E, R>(secrets: ServerSecretHolder): MiddlewareObj<E, R> {
  const name = process.env[FUNCTION_ENV.serverSecretParameter];
  if (name === undefined || name === "") {
    throw new Error(`missing environment: ${FUNCTION_ENV.serverSecretParameter} (set by infra/)`);
  }
  const parameter = new SsmParameter({ name, cacheMs: SERVER_SECRET_CACHE_MS });
  // Started at init; a failure here is reported by the first invocation, which tries again.
  parameter.value().catch(() => undefined);
  return {
    before: async () => {
      secrets.set(await parameter.value());
    },
  };
}

/** Every accepted server secret: the origin header of any of them passes (rotation changes the header too). */
function acceptedSecrets(secrets: ServerSecretHolder): string[] {
  const { current, previous } = secrets.keyring;
  return [current.secret, ...previous.map((version) => version.secret)];
}

/**
 * Function URLs take unauthenticated requests (the caller's bearer token is checked in code), so a
 * request without the Router's origin header never reaches a handler: 403 with our error body.
 */
function originCheck<R>(secrets: ServerSecretHolder): MiddlewareObj<APIGatewayProxyEventV2, R> {
  return {
    before: async (request) => {
      if (isOriginHeaderValid(request.event.headers[ORIGIN_HEADER], acceptedSecrets(secrets))) return;
      const refused = errorResponse(
        new ForbiddenError("Requests reach this deployment through its base URL (the Router), not the function's own URL."),
        newId("req"),
      );
      return (await functionUrlResultFromResponse(refused)) as R;
    },
  };
}

/** One structured line per HTTP request (never headers or bodies) and the request/5xx metrics. */
function requestLog<R extends { statusCode?: number; headers?: Record<string, string | number | boolean> } | undefined>(
  tools: EntryTools,
): MiddlewareObj<APIGatewayProxyEventV2, R> {
  let started = 0;
  return {
    before: () => {
      started = performance.now();
    },
    after: (request) => {
      const status = request.response?.statusCode ?? 200;
      tools.metrics.addMetric("Requests", MetricUnit.Count, 1);
      if (status >= 500) tools.metrics.addMetric("ServerErrors", MetricUnit.Count, 1);
      tools.logger.info("request", {
        method: request.event.requestContext.http.method,
        path: request.event.rawPath.slice(0, 200),
        status,
        latency_ms: Math.round(performance.now() - started),
        request_id: request.response?.headers?.["x-request-id"],
      });
    },
    onError: () => {
      tools.metrics.addMetric("Errors", MetricUnit.Count, 1);
    },
  };
}

/** The tracer's middleware first, when tracing is on, so the trace covers every other middleware. */
function traced<E, R>(handler: MiddyfiedHandler<E, R>, tools: EntryTools): MiddyfiedHandler<E, R> {
  return tracing === undefined || tools.tracer === undefined ? handler : handler.use(tracing.captureLambdaHandler(tools.tracer));
}

/**
 * A middy handler for a buffered Function URL entry, with tracing, logging, metrics, the server
 * secret and the origin check in front of the handler.
 */
export function functionUrlEntry<R extends { statusCode?: number; headers?: Record<string, string | number | boolean> }>(
  tools: EntryTools,
  options: { streamifyResponse?: boolean } = {},
) {
  return traced(middy<APIGatewayProxyEventV2, R>({ streamifyResponse: options.streamifyResponse ?? false }), tools)
    .use(injectLambdaContext(tools.logger, { resetKeys: true }))
    .use(logMetrics(tools.metrics, { captureColdStartMetric: true }))
    .use(serverSecretMiddleware<APIGatewayProxyEventV2, R>(tools.secrets))
    .use(requestLog<R>(tools))
    .use(originCheck<R>(tools.secrets));
}

/** A middy handler for an entry that is not HTTP (the scheduled controller tick, the admin-token function). */
export function invokedEntry<E, R>(tools: EntryTools) {
  return traced(middy<E, R>(), tools)
    .use(injectLambdaContext(tools.logger, { resetKeys: true }))
    .use(logMetrics(tools.metrics, { captureColdStartMetric: true }))
    .use(serverSecretMiddleware<E, R>(tools.secrets))
    .use({
      onError: () => {
        tools.metrics.addMetric("Errors", MetricUnit.Count, 1);
      },
    });
}
