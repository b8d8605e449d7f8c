import { Tracer } from "@aws-lambda-powertools/tracer";
import { captureLambdaHandler } from "@aws-lambda-powertools/tracer/middleware";

/**
 * The Powertools tracer (X-Ray), in its own module so an entry loads it only when the deployment
 * turned tracing on (functions/lib/lambda-entry.ts): the X-Ray SDK behind it costs about 90 ms of
 * CPU at every cold start.
 */
export { captureLambdaHandler };

export function createTracer(serviceName: string): Tracer {
  return new Tracer({ serviceName });
}
