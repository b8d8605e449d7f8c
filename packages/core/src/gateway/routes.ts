import { MODALITIES, type TaskTypeName } from "../spec/modalities";
import { SLUG_PATTERN } from "../spec/schema";

/** Every route the data plane answers under `/endpoint/{project}/{workload}/v1/`. */
export const GATEWAY_ROUTES = [
  "chat/completions",
  "completions",
  "embeddings",
  "images/generations",
  "images/edits",
  "audio/speech",
  "audio/transcriptions",
  "rerank",
  "models",
] as const;
export type GatewayRoute = (typeof GATEWAY_ROUTES)[number];

export interface RouteDefinition {
  route: GatewayRoute;
  method: "GET" | "POST";
  /** The path requested from the replica: a constant of this table, never built from the client's path. */
  upstreamPath: string;
  /** Where a backend serves this route instead (vLLM serves rerank at `/rerank`, sglang at `/v1/rerank`). */
  upstreamPathByBackend?: Readonly<Partial<Record<string, string>>>;
  /** Largest request body accepted (bytes); 413 above it. */
  maxBodyBytes: number;
  /** Connect + wait for the replica's response headers. */
  firstByteTimeoutMs: number;
  /** Longest silence between two response chunks once the response started. */
  idleTimeoutMs: number;
  /** Whether the response may carry an OpenAI `usage` object worth scanning for. */
  metered: boolean;
}

const MiB = 1024 * 1024;

function define(
  route: GatewayRoute,
  method: "GET" | "POST",
  maxBodyBytes: number,
  firstByteSeconds: number,
  idleSeconds: number,
  metered: boolean,
): RouteDefinition {
  return {
    route,
    method,
    upstreamPath: `/v1/${route}`,
    maxBodyBytes,
    firstByteTimeoutMs: firstByteSeconds * 1000,
    idleTimeoutMs: idleSeconds * 1000,
    metered,
  };
}

/**
 * Limits and timeouts per route (docs/gateway.md explains each number). Non-streamed generations
 * send nothing until they finish, hence the long first-byte timeouts of the generating routes.
 */
export const ROUTE_DEFINITIONS: Readonly<Record<GatewayRoute, RouteDefinition>> = {
  // Vision chat (image2text) carries base64 images inside the messages.
  "chat/completions": define("chat/completions", "POST", 16 * MiB, 120, 60, true),
  completions: define("completions", "POST", 4 * MiB, 120, 60, true),
  embeddings: define("embeddings", "POST", 4 * MiB, 30, 30, true),
  "images/generations": define("images/generations", "POST", 1 * MiB, 300, 60, false),
  "images/edits": define("images/edits", "POST", 32 * MiB, 300, 60, false),
  "audio/speech": define("audio/speech", "POST", 1 * MiB, 120, 60, false),
  // OpenAI accepts 25 MB audio files; the rest is multipart overhead and form fields.
  "audio/transcriptions": define("audio/transcriptions", "POST", 32 * MiB, 300, 60, true),
  // Reranking a batch of documents is one forward pass: answered whole, like embeddings.
  rerank: { ...define("rerank", "POST", 4 * MiB, 60, 30, true), upstreamPathByBackend: { vllm: "/rerank", sglang: "/v1/rerank" } },
  models: define("models", "GET", 0, 10, 10, false),
};

/**
 * Routes a modality answers synchronously although its other work runs as async jobs: a reranker
 * answers `/v1/rerank` (a short forward pass) as the vendor SDK calls it, beside its jobs.
 */
export const SYNC_ROUTES_OF_ASYNC_MODALITIES: Readonly<Partial<Record<TaskTypeName, readonly GatewayRoute[]>>> = {
  reranker: ["rerank"],
};

export function isGatewayRoute(route: string): route is GatewayRoute {
  return Object.hasOwn(ROUTE_DEFINITIONS, route);
}

const SERVED = new Map<TaskTypeName, readonly GatewayRoute[]>();

/** The routes a workload of this task_type answers (`models` for all). Computed once per task_type. */
export function routesServed(taskType: TaskTypeName): readonly GatewayRoute[] {
  let served = SERVED.get(taskType);
  if (served === undefined) {
    served = [...(MODALITIES[taskType]?.routes ?? []).filter(isGatewayRoute), ...(SYNC_ROUTES_OF_ASYNC_MODALITIES[taskType] ?? []), "models"];
    SERVED.set(taskType, served);
  }
  return served;
}

export const FILE_ID_PATTERN = /^file_[0-9A-Za-z]{24}$/;

export type EndpointPath =
  | { kind: "api"; project: string; workload: string; route: string }
  | { kind: "file"; project: string; workload: string; fileId: string };

/**
 * Parses `/endpoint/{project}/{workload}/v1/{route...}`. Project and workload must be slugs, so
 * encoded separators or dots (`%2F`, `%2e%2e`) never form a name; the route is only ever looked up
 * in ROUTE_DEFINITIONS, so nothing of this path reaches the upstream URL.
 */
export function parseEndpointPath(pathname: string): EndpointPath | undefined {
  if (!pathname.startsWith("/endpoint/")) return undefined;
  const parts = pathname.split("/");
  const project = parts[2];
  const workload = parts[3];
  if (parts.length < 6 || parts[4] !== "v1" || project === undefined || workload === undefined) return undefined;
  if (!SLUG_PATTERN.test(project) || !SLUG_PATTERN.test(workload)) return undefined;
  if (parts[5] === "files" && parts.length === 7) {
    return { kind: "file", project, workload, fileId: parts[6] ?? "" };
  }
  return { kind: "api", project, workload, route: parts.slice(5).join("/") };
}
