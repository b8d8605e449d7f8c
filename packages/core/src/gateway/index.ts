export { type CachedKey, DEFAULT_KEY_CACHE, KeyAuthenticator, type KeyCacheOptions } from "./auth";
export { assertBlobKey, type BlobStore, type StoredBlob, LocalFileBlobStore, MemoryBlobStore } from "./blob-store";
export { GATEWAY_ERROR_STATUS, GatewayError, type GatewayErrorCode, gatewayErrorReply, workloadFailedError } from "./errors";
export { drained } from "./node-streams";
export {
  type ChunkSource,
  chunkSourceOf,
  fromWebRequest,
  type GatewayReply,
  type GatewayRequest,
  toWebResponse,
  webStreamOf,
} from "./exchange";
export { createGateway, type DataPlaneRequest, type Gateway, type GatewayOptions } from "./gateway";
export {
  type EndpointPath,
  GATEWAY_ROUTES,
  type GatewayRoute,
  parseEndpointPath,
  ROUTE_DEFINITIONS,
  type RouteDefinition,
  routesServed,
} from "./routes";
export { rateBudgetKey, SharedRateLimiter, type SharedRateLimiterOptions } from "./shared-rate";
export { DEFAULT_ROUTE_CACHE, type RouteCacheOptions, RouteTable, type UpstreamReplica, type WorkloadFailure, workloadFailure } from "./route-table";
export { fileUrl, signFile, verifyFileSignature } from "./signed-url";
export {
  fetchTransport,
  type NodeHttpTransportOptions,
  nodeHttpTransport,
  type UndiciTransportOptions,
  undiciTransport,
  type UpstreamRequest,
  type UpstreamResponse,
  type UpstreamTransport,
} from "./upstream";
export { extractUsage, type TokenUsage, UsageScanner } from "./usage-scan";
export { type GatewayJobsOptions, JobWatcher, MAX_JOB_WAIT_SECONDS, serveJobs } from "./jobs-routes";
