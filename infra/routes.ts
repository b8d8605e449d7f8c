import { AWS_LIMITS, ROUTER_ROUTES } from "../packages/aws/src/deployment";
import { agentApi } from "./agent";
import { controlApi } from "./api";
import { gateway } from "./gateway";
import { router } from "./router";

// The Router's path routes, from the table the local router in tests uses too.
const targets = { controlApi, agentApi, gateway };
for (const route of ROUTER_ROUTES) {
  router.route(route.path, targets[route.target].url, {
    // Every gateway wait ends before this (packages/aws/src/lambda-gateway.ts); SSE streams send
    // keep-alives more often than this.
    readTimeout: `${AWS_LIMITS.originReadTimeoutSeconds} seconds`,
  });
}

export const outputs = {};
