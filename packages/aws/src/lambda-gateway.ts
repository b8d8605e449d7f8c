import { GATEWAY_ROUTES, type GatewayOptions, ROUTE_DEFINITIONS } from "@inferencekey/core";
import { AWS_LIMITS } from "./deployment";

/**
 * The gateway's limits behind CloudFront and Lambda: the scale-up hold, connect and first-byte
 * timeouts add up to less than CloudFront's origin read timeout, every route's body limit stays
 * under Lambda's payload limit, and silences of non-SSE bodies end before CloudFront's.
 */
export function awsGatewayLimits(limits: typeof AWS_LIMITS = AWS_LIMITS): Required<Pick<GatewayOptions, "connectTimeoutMs" | "maxScaleUpWaitSeconds" | "routes">> {
  const routes: NonNullable<GatewayOptions["routes"]> = {};
  for (const route of GATEWAY_ROUTES) {
    const definition = ROUTE_DEFINITIONS[route];
    routes[route] = {
      maxBodyBytes: Math.min(definition.maxBodyBytes, limits.maxRequestBodyBytes),
      firstByteTimeoutMs: Math.min(definition.firstByteTimeoutMs, limits.firstByteTimeoutMs),
      idleTimeoutMs: Math.min(definition.idleTimeoutMs, limits.idleTimeoutMs),
    };
  }
  return { connectTimeoutMs: limits.connectTimeoutMs, maxScaleUpWaitSeconds: limits.maxScaleUpWaitSeconds, routes };
}
