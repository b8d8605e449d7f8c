import { jsonNestsDeeperThan, MAX_JSON_DEPTH } from "../http/json-body";
import { randomBase62 } from "../ids";
import { keyBelongsTo } from "../keys";
import type { PlatformContext } from "../platform/context";
import { MODALITIES, type TaskTypeName } from "../spec/modalities";
import { type UsageSample, UsageRecorder } from "../usage";
import { type WorkloadRecord, workloadIncarnation } from "../workloads";
import { policyState } from "../workloads/policy-state";
import { type CachedKey, DEFAULT_KEY_CACHE, KeyAuthenticator, type KeyCacheOptions } from "./auth";
import type { BlobStore } from "./blob-store";
import { ColdStartEstimator } from "./cold-start";
import { type ConcurrencyLease, type ConcurrencyLimiter, LocalConcurrencyLimiter, SharedConcurrencyLimiter } from "./concurrency";
import { type GatewayJobsOptions, serveJobs } from "./jobs-routes";
import { isJobTaskType } from "../jobs/schema";
import { BodyTooLargeError, concatChunks, ReplayableBody, readLimited, readSourceLimited } from "./body";
import { GatewayError, gatewayErrorReply, workloadFailedError } from "./errors";
import { type ChunkSource, fromWebRequest, type GatewayReply, type GatewayRequest, toWebResponse } from "./exchange";
import { type ImageFormat, imageFormatOf, imagesToUrls, MultipartFieldSniffer } from "./images";
import { normaliseRerank, rewriteRequestBody, rewritesBody, withoutUsageOnlyChunks } from "./openai-compat";
import { SlidingWindowCounter } from "./rate-window";
import { SharedRateLimiter } from "./shared-rate";
import {
  type EndpointPath,
  FILE_ID_PATTERN,
  type GatewayRoute,
  isGatewayRoute,
  parseEndpointPath,
  ROUTE_DEFINITIONS,
  type RouteDefinition,
  routesServed,
  SYNC_ROUTES_OF_ASYNC_MODALITIES,
} from "./routes";
import { DEFAULT_ROUTE_CACHE, type RouteCacheOptions, type RouteInfo, RouteTable, type UpstreamReplica } from "./route-table";
import { verifyFileSignature } from "./signed-url";
import { type UpstreamResponse, type UpstreamTransport, undiciTransport } from "./upstream";
import { extractUsage, JSON_TAIL_CHARS, type TokenUsage, UsageScanner } from "./usage-scan";

export interface GatewayOptions {
  /**
   * The controller hook: a servable request found no ready replica of a workload that should run.
   * Called at once, then at most every 5 s per workload incarnation while requests keep finding none.
   */
  requestScaleUp?: (project: string, workload: string, incarnation: string) => void | Promise<void>;
  /** Where generated images are kept for their signed URLs. Without one, images get `data:` URLs. */
  blobs?: BlobStore;
  /**
   * The platform's own public base URL, for signed file URLs (the local runtime's URL; in AWS the
   * base URL the deployment writes). Never taken from the request (a Host header is the caller's to
   * choose): without it, images asked for as URLs come back as `data:` URLs.
   */
  publicUrl?: string | (() => string | undefined);
  /** Lifetime of a signed file URL. Default 3600. */
  fileUrlTtlSeconds?: number;
  keyCache?: Partial<KeyCacheOptions>;
  routeCache?: Partial<RouteCacheOptions>;
  /**
   * Where keys' `rate_limit_per_minute` and `max_concurrent_requests` are counted. "instance"
   * (default): in this process (exact for the single local gateway). "shared": in the store, so the
   * limits hold across every instance (the Lambda gateway); see SharedRateLimiter and
   * SharedConcurrencyLimiter.
   */
  rateLimitScope?: "instance" | "shared";
  /** How long a shared concurrency lease holds without renewal (SharedConcurrencyLimiter). Default 60000. */
  concurrencyLeaseMs?: number;
  /** Per-route overrides of the body limit (bytes) and timeouts (ms). */
  routes?: Partial<Record<GatewayRoute, Partial<Pick<RouteDefinition, "maxBodyBytes" | "firstByteTimeoutMs" | "idleTimeoutMs">>>>;
  /** Connecting to a replica. Default 5000. */
  connectTimeoutMs?: number;
  /** Ceiling of `X-Scale-Up-Timeout`. Default 120. */
  maxScaleUpWaitSeconds?: number;
  /**
   * How often a held request re-reads the route table when nothing tells it sooner (`invalidate`
   * wakes it at once). Default 500.
   */
  scaleUpPollMs?: number;
  /**
   * Ceiling of the `Retry-After` of `workload_scaling_up`, which is otherwise the time until a
   * replica is expected (the workload's last cold start as this instance saw it). Default 2.
   */
  scaleUpRetryAfterMaxSeconds?: number;
  /** Background usage flush period; 0 leaves flushing to `flushUsage`/`flushUsageIfDue`. Default 10000. */
  usageFlushMs?: number;
  /** How the gateway reaches replicas. Default: undici connection pools (`undiciTransport`). */
  transport?: UpstreamTransport;
  /** Unexpected failures only (never secrets, headers or bodies). Default console.error. */
  log?: (line: string) => void;
  /** Names this instance in usage items. Default random. */
  instanceId?: string;
  /** The async jobs API (`/v1/jobs`): the queue jobs are sent to. Without it, /v1/jobs answers 404 `route_not_served`. */
  jobs?: GatewayJobsOptions;
  /**
   * Told of every data-plane API request once it is answered (the local terminal's request lines).
   * Called synchronously on the request path: keep it cheap.
   */
  onRequest?: (request: DataPlaneRequest) => void;
}

/** One answered data-plane request, as `onRequest` is told it: never the key, only its id. */
export interface DataPlaneRequest {
  project: string;
  workload: string;
  method: string;
  /** The route as asked, after `/v1/` (e.g. `chat/completions`), cut at 100 characters. */
  route: string;
  status: number;
  latencyMs: number;
  /** Absent when the key was refused (401/403). */
  keyId?: string;
}

/** The data-plane gateway: one handler in two bindings, plus the signals and lifecycle around it. */
export interface Gateway {
  /** The web-standard binding (Lambda, tests). */
  handle(request: Request): Promise<Response>;
  /** The runtime-neutral entry that `handle` wraps; the local runtime binds node:http to it directly. */
  serve(request: GatewayRequest): Promise<GatewayReply>;
  /**
   * Servable requests per minute to one incarnation of a workload through this instance (sliding
   * 60 s estimate): the autoscaler's rate signal. Refused requests (auth, route, method, size, rate
   * limit) and `GET /v1/models` do not count; a re-created slug starts from zero.
   */
  gatewayRequestRate(incarnation: string): number;
  /** The most requests this instance held at once for want of a ready replica since the last call: the autoscaler's held signal. */
  heldRequests(project: string, workload: string): number;
  /**
   * The workload's record or replicas changed (ensure, delete, a replica's phase): drops its cached
   * route and wakes requests held for a ready replica. A control plane in the same process calls it;
   * elsewhere the route cache TTL bounds the staleness.
   */
  invalidate(project: string, workload: string): void;
  flushUsage(): Promise<void>;
  flushUsageIfDue(): Promise<void>;
  /**
   * Writes everything this instance owes the store: usage, and the release of concurrency leases of
   * requests that ended. A runtime that freezes the process between requests (Lambda) awaits it
   * before each invocation ends.
   */
  settleWrites(): Promise<void>;
  /** Stops the flush timer, flushes usage and closes idle upstream connections. */
  close(): Promise<void>;
}

/** Request bodies up to this size (declared Content-Length) are read whole: cheaper, and retryable. */
const SMALL_BODY_BYTES = 64 * 1024;
/**
 * JSON answers (never SSE) up to this size are read whole and sent with a Content-Length in one
 * write: the replica produces them complete, so this delays nothing. Larger ones stream through.
 */
const SMALL_RESPONSE_BYTES = 256 * 1024;
const MAX_ATTEMPTS = 3;
const IMAGE_RESPONSE_MAX_BYTES = 64 * 1024 * 1024;
/** A rerank answer is a score per document (the request is at most 4 MiB of documents). */
const RERANK_RESPONSE_MAX_BYTES = 16 * 1024 * 1024;
const SCALE_UP_CALL_INTERVAL_MS = 5000;
/** `Retry-After` of `workload_scaling_up` never asks for less than this (the estimate may have passed). */
const SCALE_UP_RETRY_AFTER_MIN_MS = 250;
/** The expected cold start of a workload this instance has not yet seen start. */
const FIRST_COLD_START_GUESS_MS = 1000;
/** Connection failures that say the replica is not there: skip it for a while. */
const DOWN_CODES = new Set([
  "ECONNREFUSED",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
  "UPSTREAM_CONNECT_TIMEOUT",
  // Not a blip: the replica's front is not the worker's, or this transport cannot reach TLS fronts.
  "UPSTREAM_CERTIFICATE_MISMATCH",
  "UPSTREAM_TLS_UNSUPPORTED",
]);
/** The connection broke before any response: what a kept-alive connection closed by the replica looks like. */
const RESET_CODES = new Set(["ECONNRESET", "EPIPE", "UND_ERR_SOCKET"]);
/** Response headers that describe one hop (or the replica itself), never forwarded. */
const RESPONSE_HEADERS_DROPPED = new Set([
  "connection",
  "keep-alive",
  "proxy-authenticate",
  "proxy-authorization",
  "proxy-connection",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
  "set-cookie",
  "server",
  "date",
  "x-request-id",
]);

function wantedImageFormat(call: Call): ImageFormat {
  return call.imageFormat instanceof MultipartFieldSniffer ? imageFormatOf(call.imageFormat.value) : call.imageFormat;
}

/**
 * One proxied call's hold on its replica: aborts the upstream request when the client leaves or a
 * timeout fires, and is settled exactly once (replica released, usage recorded). A listener object
 * with methods rather than closures, because one is made per request.
 */
class UpstreamLink {
  readonly controller = new AbortController();
  settled = false;
  replicaId: string | undefined;

  constructor(private readonly clientSignal: AbortSignal) {
    if (clientSignal.aborted) this.handleEvent();
    else clientSignal.addEventListener("abort", this, { once: true });
  }

  /** The client's signal fired. */
  handleEvent(): void {
    this.controller.abort(new Aborted("client"));
  }

  /** Stops listening to the client (the call is over, or never reached a replica). */
  detach(): void {
    this.clientSignal.removeEventListener("abort", this);
  }
}

class Aborted extends Error {
  constructor(readonly kind: "client" | "first_byte_timeout" | "idle_timeout") {
    super(`aborted: ${kind}`);
    this.name = "Aborted";
  }
}

type PreparedBody =
  | { kind: "none" }
  | { kind: "bytes"; bytes: Uint8Array }
  | { kind: "stream"; body: ReplayableBody };

interface Call {
  request: GatewayRequest;
  requestId: string;
  started: number;
  project: string;
  workload: string;
  key: CachedKey;
  /** The workload incarnation this request is demand for; undefined when it is not servable demand. */
  demand: string | undefined;
  definition: RouteDefinition;
  record: WorkloadRecord;
  /** Images routes: what the client wants back (`images/edits` learns it from the multipart body as it streams). */
  imageFormat: ImageFormat | MultipartFieldSniffer;
  /** The key's concurrency slot, when it has a limit: released when the call's usage is recorded. */
  lease: ConcurrencyLease | undefined;
  /** The replica was asked for a usage chunk the client did not ask for: it is taken out of the stream. */
  dropUsageChunk: boolean;
  /** The parsed JSON request of a rewritten body (rerank reads `top_n` and `documents` back). */
  parsedRequest: Record<string, unknown> | undefined;
}

/** A client-given route, bounded for logs. */
function shownRoute(route: string): string {
  return route.length > 100 ? `${route.slice(0, 100)}...` : route;
}

/** What usage recording needs of a call, before the call is complete. */
type UsageBase = Pick<Call, "project" | "workload" | "key" | "started" | "request" | "demand" | "lease">;

function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown; cause?: { code?: unknown } } | undefined)?.code ?? (error as { cause?: { code?: unknown } })?.cause?.code;
  return typeof code === "string" ? code : undefined;
}

/** The path of an absolute, already normalised request URL, without parsing all of it. */
function pathnameOf(url: string): string {
  const start = url.indexOf("/", url.indexOf("//") + 2);
  if (start === -1) return "/";
  const query = url.indexOf("?", start);
  const fragment = url.indexOf("#", start);
  const end = query === -1 ? fragment : fragment === -1 ? query : Math.min(query, fragment);
  return end === -1 ? url.slice(start) : url.slice(start, end);
}

/** Reuses a caller's well-formed `x-request-id`, so client and gateway logs join up. */
function givenRequestId(request: GatewayRequest): string | undefined {
  const given = request.header("x-request-id");
  return given !== null && /^req_[0-9A-Za-z]{4,64}$/.test(given) ? given : undefined;
}

/** Reads until `limit` bytes or the end, whichever comes first. */
async function readUpTo(source: ChunkSource, limit: number): Promise<{ chunks: Uint8Array[]; bytes: number; done: boolean }> {
  const chunks: Uint8Array[] = [];
  let bytes = 0;
  while (bytes <= limit) {
    const value = await source.next();
    if (value === undefined) return { chunks, bytes, done: true };
    chunks.push(value);
    bytes += value.byteLength;
  }
  return { chunks, bytes, done: false };
}

/** Bodies read whole before proxying: images/generations (rewritten) and small declared ones (retryable). */
function readsWhole(definition: RouteDefinition, declared: number | undefined): boolean {
  return definition.route === "images/generations" || rewritesBody(definition.route) || (declared !== undefined && declared <= SMALL_BODY_BYTES);
}

/** Whether prepareBody would stream this body to the replica (not read it first). */
function streamsBody(request: GatewayRequest, definition: RouteDefinition, declared: number | undefined): boolean {
  return definition.method !== "GET" && request.body !== null && !(request.body instanceof Uint8Array) && !readsWhole(definition, declared);
}

function declaredLength(request: GatewayRequest): number | undefined {
  const value = request.header("content-length");
  // 16 digits is already far past any limit; a longer header is not read as a length.
  return value !== null && value.length <= 16 && /^\d+$/.test(value) ? Number(value) : undefined;
}

function responseHeaders(upstream: Record<string, string | string[] | undefined>, requestId: string): Record<string, string> {
  const out: Record<string, string> = {};
  const connection = upstream.connection;
  const named = typeof connection === "string" ? connection.toLowerCase().split(",").map((s) => s.trim()) : [];
  for (const name in upstream) {
    if (RESPONSE_HEADERS_DROPPED.has(name) || named.includes(name)) continue;
    const value = upstream[name];
    if (value === undefined) continue;
    out[name] = Array.isArray(value) ? value.join(", ") : value;
  }
  out["x-request-id"] = requestId;
  return out;
}

/** The `/v1/models` answer the gateway gives itself when no replica can (none ready, or it failed). */
function modelsReply(record: WorkloadRecord, requestId: string): GatewayReply {
  const created = Math.floor(Date.parse(record.created_at) / 1000);
  const body = { object: "list", data: [{ id: record.spec.model, object: "model", created, owned_by: "inferencekey" }] };
  return { status: 200, headers: { "content-type": "application/json", "x-request-id": requestId }, body: Buffer.from(JSON.stringify(body)) };
}

/** Creates the gateway. Usage flushes start at once (unless `usageFlushMs` is 0); call `close()` to stop. */
export function createGateway(ctx: PlatformContext, options: GatewayOptions = {}): Gateway {
  const log = options.log ?? ((line: string) => console.error(line));
  const auth = new KeyAuthenticator(ctx, { ...DEFAULT_KEY_CACHE, ...options.keyCache });
  const routes = new RouteTable(ctx, { ...DEFAULT_ROUTE_CACHE, ...options.routeCache });
  const transport = options.transport ?? undiciTransport();
  const nowMs = () => ctx.now().getTime();
  const rateLimits = new SlidingWindowCounter(nowMs);
  const sharedRateLimits =
    options.rateLimitScope === "shared" ? new SharedRateLimiter(ctx, { fallback: rateLimits, log }) : undefined;
  const localConcurrency = new LocalConcurrencyLimiter();
  const concurrency: ConcurrencyLimiter =
    options.rateLimitScope === "shared"
      ? new SharedConcurrencyLimiter(ctx, {
          fallback: localConcurrency,
          log,
          ...(options.concurrencyLeaseMs === undefined ? {} : { leaseMs: options.concurrencyLeaseMs }),
        })
      : localConcurrency;
  const requestRates = new SlidingWindowCounter(nowMs);
  const usage = new UsageRecorder(ctx, {
    ...(options.instanceId === undefined ? {} : { instanceId: options.instanceId }),
    flushIntervalMs: options.usageFlushMs ?? 10_000,
    log,
  });
  usage.start();
  const lastScaleUp = new Map<string, number>();
  /** Requests held now, and the most held at once since the controller last read it, per workload. */
  const held = new Map<string, { now: number; peak: number }>();
  const connectTimeoutMs = options.connectTimeoutMs ?? 5000;
  const maxWaitSeconds = options.maxScaleUpWaitSeconds ?? 120;
  const pollMs = options.scaleUpPollMs ?? 500;
  const scaleUpRetryAfterMaxMs = (options.scaleUpRetryAfterMaxSeconds ?? 2) * 1000;
  const coldStarts = new ColdStartEstimator({ firstGuessMs: FIRST_COLD_START_GUESS_MS, maxEntries: 10_000 });
  const fileTtl = options.fileUrlTtlSeconds ?? 3600;
  // Request ids: a random prefix per instance and a counter, so no random bytes are drawn per request.
  const requestIdPrefix = `req_${randomBase62(10)}`;
  let requestCounter = 0;

  const definitions = Object.fromEntries(
    (Object.entries(ROUTE_DEFINITIONS) as [GatewayRoute, RouteDefinition][]).map(([route, definition]) => [
      route,
      { ...definition, ...options.routes?.[route] },
    ]),
  ) as Record<GatewayRoute, RouteDefinition>;

  function recordUsage(
    call: UsageBase,
    route: string,
    sample: Omit<UsageSample, "keyId" | "latencyMs" | "demand">,
  ) {
    // Every call ends here exactly once (answered, refused or broken off): its concurrency slot frees.
    call.lease?.release();
    const latencyMs = performance.now() - call.started;
    const keyId = call.key.record.id;
    usage.record(call.project, call.workload, { keyId, latencyMs, ...sample, ...(call.demand === undefined ? {} : { demand: call.demand }) });
    options.onRequest?.({ project: call.project, workload: call.workload, method: call.request.method, route: shownRoute(route), status: sample.status, latencyMs, keyId });
  }

  async function serve(request: GatewayRequest): Promise<GatewayReply> {
    const started = performance.now();
    const requestId = givenRequestId(request) ?? `${requestIdPrefix}${(requestCounter++).toString(36)}`;
    let refusedPath: Extract<EndpointPath, { kind: "api" }> | undefined;
    try {
      const path = parseEndpointPath(pathnameOf(request.url));
      if (path === undefined) {
        throw new GatewayError(404, "not_found", "No such endpoint: data-plane routes are /endpoint/{project}/{workload}/v1/{route}.");
      }
      if (path.kind === "file") return await serveFile(request, new URL(request.url), path);
      refusedPath = path;
      const authenticated = auth.authenticate(request.header("authorization"), path.project, path.workload);
      const key = authenticated instanceof Promise ? await authenticated : authenticated;
      // From here on, serveApi tells onRequest itself (with the key id).
      refusedPath = undefined;
      return await serveApi(request, requestId, started, path, key);
    } catch (error) {
      const gatewayError = asGatewayError(error);
      if (refusedPath !== undefined) {
        const { project, workload, route } = refusedPath;
        options.onRequest?.({ project, workload, method: request.method, route: shownRoute(route), status: gatewayError.status, latencyMs: performance.now() - started });
      }
      return gatewayErrorReply(gatewayError, requestId);
    }
  }

  function asGatewayError(error: unknown): GatewayError {
    if (error instanceof GatewayError) return error;
    log(`gateway: unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    return new GatewayError(500, "internal_error", "Internal error; quote the x-request-id when reporting it.");
  }

  async function serveApi(
    request: GatewayRequest,
    requestId: string,
    started: number,
    path: Extract<EndpointPath, { kind: "api" }>,
    key: CachedKey,
  ): Promise<GatewayReply> {
    const { project, workload } = path;
    const base: UsageBase = { project, workload, key, started, request, demand: undefined, lease: undefined };
    try {
      const limit = key.record.rate_limit_per_minute;
      if (limit !== undefined) {
        const admitted = sharedRateLimits === undefined ? rateLimits.admit(key.record.id, limit) : sharedRateLimits.admit(key.record.id, limit);
        const wait = typeof admitted === "number" ? admitted : await admitted;
        if (wait > 0) {
          throw new GatewayError(
            429,
            "rate_limit_exceeded",
            `This key is limited to ${limit} requests per minute; retry in ${wait} s.`,
            { retryAfterSeconds: wait },
          );
        }
      }
      const maxConcurrent = key.record.max_concurrent_requests;
      if (maxConcurrent !== undefined) {
        const acquired = concurrency.acquire(key.record.id, maxConcurrent);
        const lease = acquired instanceof Promise ? await acquired : acquired;
        if (typeof lease === "number") {
          throw new GatewayError(
            429,
            "concurrency_limit_exceeded",
            `This key allows ${maxConcurrent} requests at once and that many are in flight; retry in ${lease} s.`,
            { retryAfterSeconds: lease, fields: { max_concurrent_requests: maxConcurrent } },
          );
        }
        base.lease = lease;
      }
      const cached = routes.get(project, workload);
      let info = cached instanceof Promise ? await cached : cached;
      const record = info.workload;
      if (record === undefined) {
        throw new GatewayError(404, "workload_not_found", `Workload ${project}/${workload} does not exist (it may have been deleted).`);
      }
      if (!keyBelongsTo(key.record, { incarnation: info.incarnation as string, created_at: record.created_at })) {
        throw new GatewayError(
          401,
          "key_revoked",
          `This API key was made for a former life of ${project}/${workload}: deleting a workload revokes its keys. Create a key for the re-created workload.`,
        );
      }
      if (path.route === "jobs" || path.route.startsWith("jobs/")) {
        if (options.jobs === undefined) {
          throw new GatewayError(404, "route_not_served", "This deployment runs no job queue, so it does not serve /v1/jobs.");
        }
        const answered = await serveJobs(ctx, options.jobs, options.jobs.blobs ?? options.blobs, request, requestId, path.route, record);
        recordUsage(base, path.route, { status: answered.status });
        return answered;
      }
      const definition = resolveRoute(path.route, record, project, workload);
      if (request.method !== definition.method) {
        throw new GatewayError(405, "method_not_allowed", `/v1/${definition.route} takes ${definition.method}, not ${request.method}.`, {
          headers: { allow: definition.method },
        });
      }
      const declared = declaredLength(request);
      if (declared !== undefined && declared > definition.maxBodyBytes) throw tooLarge(definition);
      // Listing models is not demand: it never wakes a workload nor counts toward its request rate.
      if (definition.route === "models" && info.ready.length === 0) return synthesizedModels(record, requestId, base);

      let imageFormat: Call["imageFormat"] = "b64_json";
      let sniffer: MultipartFieldSniffer | undefined;
      if (definition.route === "images/edits") {
        sniffer = new MultipartFieldSniffer("response_format");
        imageFormat = sniffer;
      }
      // Bodies read whole are read (and held to the route's limit) before the request counts as demand;
      // a streamed body is counted on its declared length and cut at the limit as it streams.
      let body = streamsBody(request, definition, declared) ? undefined : await prepareBody(request, definition, declared, info, sniffer);
      // The model name the replica serves, and usage asked for on every stream (openai-compat.ts);
      // a rerank body without a query and documents is refused here, before it counts as demand.
      const openAiBody = body?.kind === "bytes" && rewritesBody(definition.route) ? rewriteRequestBody(body.bytes, definition.route, record) : undefined;
      if (openAiBody !== undefined && body?.kind === "bytes") body.bytes = openAiBody.bytes;
      // A malformed X-Scale-Up-Timeout is refused (400) before it counts; it matters only without a ready replica.
      const waitSeconds = info.ready.length === 0 ? scaleUpWait(request) : 0;
      if (definition.route !== "models" && info.incarnation !== undefined) {
        base.demand = info.incarnation;
        requestRates.add(info.incarnation);
      }

      if (info.ready.length === 0) {
        info = await waitForReplica(request, project, workload, info, waitSeconds);
      } else if (coldStarts.anyWaiting) {
        coldStarts.ready(`${project}/${workload}`);
      }
      body ??= await prepareBody(request, definition, declared, info, sniffer);
      if (definition.route === "images/generations" && body.kind === "bytes") {
        const rewritten = rewriteImageRequest(body.bytes);
        body.bytes = rewritten.bytes;
        imageFormat = rewritten.format;
      }
      const call: Call = {
        request,
        requestId,
        started,
        project,
        workload,
        key,
        demand: base.demand,
        definition,
        record,
        imageFormat,
        dropUsageChunk: openAiBody?.dropUsageChunk ?? false,
        parsedRequest: openAiBody?.parsed,
        lease: base.lease,
      };
      return await proxy(call, info, body);
    } catch (error) {
      const gatewayError = asGatewayError(error);
      recordUsage(base, path.route, { status: gatewayError.status, cancelled: request.signal.aborted });
      throw gatewayError;
    }
  }

  function resolveRoute(route: string, record: WorkloadRecord, project: string, workload: string): RouteDefinition {
    const taskType = record.spec.task_type as TaskTypeName;
    const modality = MODALITIES[taskType];
    if (route === "models") return definitions.models;
    if (isGatewayRoute(route) && SYNC_ROUTES_OF_ASYNC_MODALITIES[taskType]?.includes(route)) return definitions[route];
    const shown = route.length > 100 ? `${route.slice(0, 100)}...` : route;
    const sync = [...(SYNC_ROUTES_OF_ASYNC_MODALITIES[taskType] ?? []), "models"];
    const syncShown = `Only ${sync.map((r) => `/v1/${r}`).join(" and ")} answer${sync.length === 1 ? "s" : ""} synchronously.`;
    if (modality !== undefined && isJobTaskType(taskType)) {
      throw new GatewayError(
        404,
        "route_not_served",
        `Workload ${project}/${workload} has task_type ${taskType}, which runs as async jobs: POST /endpoint/${project}/${workload}/v1/jobs ` +
          `with the input instead of /v1/${shown}, then GET /v1/jobs/{id} for the result. ${syncShown}`,
        { fields: { task_type: taskType, routes: ["jobs", ...sync] } },
      );
    }
    if (modality === undefined || modality.mode === "async") {
      throw new GatewayError(
        404,
        "async_only_modality",
        `Workload ${project}/${workload} has task_type ${taskType}, which this platform does not serve (video generation is not supported yet); ` +
          `no route answers for it but /v1/models.`,
        { fields: { task_type: taskType, routes: ["models"] } },
      );
    }
    const served = routesServed(taskType);
    if (!isGatewayRoute(route) || !served.includes(route)) {
      throw new GatewayError(
        404,
        "route_not_served",
        `Workload ${project}/${workload} has task_type ${taskType}, which serves ${served.map((r) => `/v1/${r}`).join(", ")}; ` +
          `/v1/${shown} is not one of them.`,
        { fields: { task_type: taskType, routes: served } },
      );
    }
    return definitions[route];
  }

  function tooLarge(definition: RouteDefinition): GatewayError {
    return new GatewayError(
      413,
      "payload_too_large",
      `The request body exceeds the ${definition.maxBodyBytes}-byte limit of /v1/${definition.route}.`,
      { fields: { limit_bytes: definition.maxBodyBytes } },
    );
  }

  function synthesizedModels(record: WorkloadRecord, requestId: string, base: UsageBase) {
    recordUsage(base, "models", { status: 200 });
    return modelsReply(record, requestId);
  }

  async function triggerScaleUp(project: string, workload: string, incarnation: string): Promise<void> {
    if (options.requestScaleUp === undefined) return;
    const now = nowMs();
    // Per incarnation: a slug re-created within the interval is not held back by its former life.
    if (now - (lastScaleUp.get(incarnation) ?? Number.NEGATIVE_INFINITY) < SCALE_UP_CALL_INTERVAL_MS) return;
    if (lastScaleUp.size > 10_000) lastScaleUp.clear();
    lastScaleUp.set(incarnation, now);
    try {
      await options.requestScaleUp(project, workload, incarnation);
    } catch (error) {
      log(`gateway: requestScaleUp(${project}/${workload}) failed: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  /** No ready replica: explain why, ask the controller for one, and hold the request if the client asked to wait. */
  async function waitForReplica(
    request: GatewayRequest,
    project: string,
    workload: string,
    info: RouteInfo,
    waitSeconds: number,
  ): Promise<RouteInfo> {
    const record = info.workload as WorkloadRecord;
    const state = policyState(record.spec, ctx.now());
    if (state.desiredReplicas === 0 && record.spec.execution_policy === "scheduled") {
      const next = state.nextChangeAt;
      throw new GatewayError(
        503,
        "workload_outside_window",
        `Workload ${project}/${workload} runs on a schedule and is outside it now: ${state.decision}.`,
        {
          fields: { next_opening_at: next ?? null },
          ...(next === undefined ? {} : { retryAfterSeconds: Math.max(1, (Date.parse(next) - ctx.now().getTime()) / 1000) }),
        },
      );
    }
    if (state.desiredReplicas === 0 && record.spec.execution_policy === "fixed") {
      throw new GatewayError(
        503,
        "workload_stopped",
        `Workload ${project}/${workload} is stopped (fixed at 0 replicas); ensure() it with replicas >= 1 to serve.`,
      );
    }
    if (info.failure !== undefined) throw workloadFailedError(project, workload, info.failure);
    const id = `${project}/${workload}`;
    const incarnation = info.incarnation ?? workloadIncarnation(record);
    coldStarts.waiting(id);
    await triggerScaleUp(project, workload, incarnation);
    const deadline = performance.now() + waitSeconds * 1000;
    const holding = held.get(id) ?? { now: 0, peak: 0 };
    if (waitSeconds > 0) {
      held.set(id, holding);
      holding.now++;
      holding.peak = Math.max(holding.peak, holding.now);
    }
    try {
      while (waitSeconds > 0 && performance.now() < deadline && !request.signal.aborted) {
        // Woken at once when the route is invalidated (a replica became ready); the poll covers the rest.
        await routes.changeOrTimeout(project, workload, Math.min(pollMs, Math.max(1, deadline - performance.now())), request.signal);
        if (request.signal.aborted) break;
        const fresh = await routes.refresh(project, workload);
        if (fresh.workload === undefined) {
          throw new GatewayError(404, "workload_not_found", `Workload ${project}/${workload} does not exist (it may have been deleted).`);
        }
        if (fresh.ready.length > 0) {
          coldStarts.ready(id);
          return fresh;
        }
        if (fresh.failure !== undefined) throw workloadFailedError(project, workload, fresh.failure);
        if (fresh.incarnation !== incarnation) {
          throw new GatewayError(404, "workload_not_found", `Workload ${project}/${workload} was deleted while the request waited.`);
        }
        await triggerScaleUp(project, workload, incarnation);
      }
    } finally {
      if (waitSeconds > 0) holding.now--;
    }
    const retryAfterMs = Math.min(scaleUpRetryAfterMaxMs, Math.max(SCALE_UP_RETRY_AFTER_MIN_MS, coldStarts.remainingMs(id)));
    throw new GatewayError(
      503,
      "workload_scaling_up",
      `Workload ${project}/${workload} has no ready replica yet; one is starting. Retry in ${(retryAfterMs / 1000).toFixed(1)} s, ` +
        `or send X-Scale-Up-Timeout: <seconds> (up to ${maxWaitSeconds}) to wait for it.`,
      { retryAfterSeconds: retryAfterMs / 1000 },
    );
  }

  function scaleUpWait(request: GatewayRequest): number {
    const header = request.header("x-scale-up-timeout");
    if (header === null) return 0;
    if (header.length > 32 || !/^\d+(\.\d+)?$/.test(header.trim())) {
      throw new GatewayError(
        400,
        "invalid_scale_up_timeout",
        `X-Scale-Up-Timeout must be a number of seconds between 0 and ${maxWaitSeconds}.`,
      );
    }
    return Math.min(Number(header.trim()), maxWaitSeconds);
  }

  async function prepareBody(
    request: GatewayRequest,
    definition: RouteDefinition,
    declared: number | undefined,
    info: RouteInfo,
    sniffer: MultipartFieldSniffer | undefined,
  ): Promise<PreparedBody> {
    if (definition.method === "GET") return { kind: "none" };
    if (request.body === null) return { kind: "bytes", bytes: new Uint8Array(0) };
    if (request.body instanceof Uint8Array) {
      if (request.body.byteLength > definition.maxBodyBytes) throw tooLarge(definition);
      sniffer?.push(request.body);
      return { kind: "bytes", bytes: request.body };
    }
    if (readsWhole(definition, declared)) {
      try {
        const bytes = await readLimited(request.body, definition.maxBodyBytes);
        sniffer?.push(bytes);
        return { kind: "bytes", bytes };
      } catch (error) {
        if (error instanceof BodyTooLargeError) throw tooLarge(definition);
        throw error;
      }
    }
    // Keep copies for a retry only when there is another replica to retry on.
    const replayable = info.ready.length > 1;
    return {
      kind: "stream",
      body: new ReplayableBody(request.body, definition.maxBodyBytes, replayable, sniffer === undefined ? undefined : (c) => sniffer.push(c)),
    };
  }

  function rewriteImageRequest(bytes: Uint8Array): { bytes: Uint8Array; format: ImageFormat } {
    const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("utf8");
    // The same depth limit as every JSON body the platform reads whole (a deep one would overflow the stack).
    if (jsonNestsDeeperThan(text, MAX_JSON_DEPTH)) {
      throw new GatewayError(400, "invalid_request_body", `The request body nests objects and arrays deeper than ${MAX_JSON_DEPTH} levels.`);
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new GatewayError(400, "invalid_request_body", "The request body of /v1/images/generations must be JSON.");
    }
    if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
      throw new GatewayError(400, "invalid_request_body", "The request body of /v1/images/generations must be a JSON object.");
    }
    const body = parsed as Record<string, unknown>;
    const format = imageFormatOf(body.response_format);
    if (format === "b64_json") return { bytes, format };
    // The replica (vllm-omni) returns base64 only; the gateway turns it into a URL on the way back.
    return { bytes: new TextEncoder().encode(JSON.stringify({ ...body, response_format: "b64_json" })), format };
  }

  async function proxy(call: Call, info: RouteInfo, body: PreparedBody): Promise<GatewayReply> {
    const { request, definition } = call;
    const link = new UpstreamLink(request.signal);
    const { controller } = link;

    const headers: Record<string, string> = {
      "accept-encoding": "identity",
      "user-agent": "inferencekey-gateway",
      "x-request-id": call.requestId,
    };
    const contentType = request.header("content-type");
    if (contentType !== null) headers["content-type"] = contentType;
    const accept = request.header("accept");
    if (accept !== null) headers.accept = accept;

    const tried = new Set<string>();
    let retriedSameReplica = false;
    let lastError: unknown;
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const replica = routes.pick(info.ready, tried);
      if (replica === undefined) break;
      tried.add(replica.id);
      routes.acquire(replica.id);
      const timer = setTimeout(() => controller.abort(new Aborted("first_byte_timeout")), definition.firstByteTimeoutMs);
      let upstream: UpstreamResponse;
      try {
        upstream = await transport.send({
          host: replica.host,
          port: replica.port,
          path: definition.upstreamPathByBackend?.[call.record.spec.backend] ?? definition.upstreamPath,
          method: definition.method,
          headers: { ...headers, authorization: replica.authorization },
          certificateSha256: replica.certificateSha256,
          body: body.kind === "none" ? undefined : body.kind === "bytes" ? body.bytes : body.body.attempt(),
          signal: controller.signal,
          connectTimeoutMs,
        });
      } catch (error) {
        clearTimeout(timer);
        routes.release(replica.id);
        const reason: unknown = controller.signal.reason;
        if (reason instanceof Aborted) {
          link.detach();
          if (body.kind === "stream") body.body.cancel();
          if (reason.kind === "first_byte_timeout") {
            throw new GatewayError(
              504,
              "upstream_timeout",
              `The replica did not answer within ${definition.firstByteTimeoutMs / 1000} s.`,
            );
          }
          throw new GatewayError(499, "client_closed_request", "The client closed the request.");
        }
        if (body.kind === "stream" && body.body.tooLarge) {
          link.detach();
          throw tooLarge(definition);
        }
        lastError = error;
        const code = errorCode(error);
        if (code !== undefined && DOWN_CODES.has(code)) routes.markDown(replica.id);
        // A keep-alive connection the replica had just closed: the same replica deserves one more try.
        // Only node:http says whether the connection was a reused one; for the others a reset before
        // any response is taken as one (a replica that really died is marked down by the next try).
        const reused = (error as { reusedSocket?: boolean }).reusedSocket;
        const staleSocket = reused !== false && code !== undefined && RESET_CODES.has(code);
        if (staleSocket && !retriedSameReplica) {
          retriedSameReplica = true;
          tried.delete(replica.id);
        }
        if (body.kind === "stream" && !body.body.canReplay()) break;
        continue;
      }
      clearTimeout(timer);
      if (body.kind === "stream") body.body.settle();
      routes.markUp(replica.id);
      link.replicaId = replica.id;
      return await respond(call, replica, upstream, link);
    }
    link.detach();
    if (body.kind === "stream") body.body.cancel();
    log(
      `gateway: ${call.project}/${call.workload} ${definition.route}: no replica reachable after ${tried.size} attempt(s): ${
        errorCode(lastError) ?? (lastError instanceof Error ? lastError.message : String(lastError))
      }`,
    );
    throw new GatewayError(502, "upstream_unreachable", "No replica of this workload could be reached; retry shortly.", {
      retryAfterSeconds: 1,
    });
  }

  /** Ends a call's hold on its replica once: releases it, stops listening to the client, records usage if given. */
  function settle(call: Call, link: UpstreamLink, sample: Omit<UsageSample, "keyId" | "latencyMs"> | undefined): void {
    if (link.settled) return;
    link.settled = true;
    if (link.replicaId !== undefined) routes.release(link.replicaId);
    link.detach();
    if (sample !== undefined) recordUsage(call, call.definition.route, sample);
  }

  async function respond(
    call: Call,
    replica: UpstreamReplica,
    upstream: UpstreamResponse,
    link: UpstreamLink,
  ): Promise<GatewayReply> {
    const { definition } = call;
    const { controller } = link;
    try {
      if (upstream.status === 401 || upstream.status === 403 || upstream.status === 407) {
        upstream.body?.cancel();
        log(`gateway: replica ${replica.id} of ${call.project}/${call.workload} refused the gateway's credentials (${upstream.status})`);
        throw new GatewayError(502, "upstream_bad_response", "The replica refused the gateway; the platform is repairing it. Retry shortly.");
      }
      if (upstream.status >= 300 && upstream.status < 400) {
        upstream.body?.cancel();
        throw new GatewayError(502, "upstream_bad_response", "The replica answered with a redirect, which the gateway never follows.");
      }
      if (upstream.status < 200 || upstream.status > 599) {
        upstream.body?.cancel();
        throw new GatewayError(502, "upstream_bad_response", `The replica answered with an invalid status (${upstream.status}).`);
      }
      if (definition.route === "models" && upstream.status >= 400) {
        upstream.body?.cancel();
        settle(call, link, { status: 200 });
        return modelsReply(call.record, call.requestId);
      }
      const contentType = String(upstream.headers["content-type"] ?? "");
      const isImages = definition.route === "images/generations" || definition.route === "images/edits";
      if (isImages && upstream.status === 200 && contentType.includes("json") && wantedImageFormat(call) === "url") {
        return await imagesWithUrls(call, upstream, link);
      }
      if (definition.route === "rerank" && upstream.status === 200 && contentType.includes("json")) {
        return await rerankAnswer(call, upstream, link);
      }
      const headers = responseHeaders(upstream.headers, call.requestId);
      if (upstream.body === null) {
        settle(call, link, { status: upstream.status });
        return { status: upstream.status, headers, body: null };
      }
      const sse = contentType.includes("text/event-stream");
      const metered = definition.metered && upstream.status < 400 && (sse || contentType.includes("json"));
      const reader = upstream.body;
      let prefix: Uint8Array[] = [];
      const declared = Number(upstream.headers["content-length"] ?? Number.NaN);
      if (!sse && contentType.includes("json") && !(declared > SMALL_RESPONSE_BYTES)) {
        const idle = setTimeout(() => controller.abort(new Aborted("idle_timeout")), definition.idleTimeoutMs);
        let head: Awaited<ReturnType<typeof readUpTo>>;
        try {
          head = await readUpTo(reader, SMALL_RESPONSE_BYTES);
        } catch {
          throw new GatewayError(502, "upstream_bad_response", "The replica's answer broke off.");
        } finally {
          clearTimeout(idle);
        }
        if (head.done) {
          const bytes = concatChunks(head.chunks, head.bytes);
          // Usage sits at the end of OpenAI answers: decode only the tail, without a TextDecoder per answer.
          const tokens: TokenUsage | undefined = metered
            ? extractUsage(
                Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("utf8", Math.max(0, bytes.byteLength - JSON_TAIL_CHARS)),
              )
            : undefined;
          settle(call, link, {
            status: upstream.status,
            ...(tokens === undefined ? {} : { promptTokens: tokens.promptTokens, completionTokens: tokens.completionTokens }),
            unmetered: metered && tokens === undefined,
          });
          headers["content-length"] = String(bytes.byteLength);
          return { status: upstream.status, headers, body: bytes };
        }
        prefix = head.chunks;
      }
      const scanner = metered ? new UsageScanner(sse ? "sse" : "json") : undefined;
      const relayed = relay(reader, prefix, {
        idleTimeoutMs: definition.idleTimeoutMs,
        onChunk: scanner === undefined ? undefined : (chunk) => scanner.push(chunk),
        onIdle: () => controller.abort(new Aborted("idle_timeout")),
        onEnd: (outcome) => {
          const tokens: TokenUsage | undefined = outcome === "complete" ? scanner?.finish() : undefined;
          // A client that left can surface as an upstream error (its abort destroyed the connection).
          const clientGone = outcome === "cancelled" || call.request.signal.aborted;
          settle(call, link, {
            status: upstream.status,
            cancelled: clientGone,
            failed: outcome === "error" && !clientGone,
            ...(tokens === undefined ? {} : { promptTokens: tokens.promptTokens, completionTokens: tokens.completionTokens }),
            unmetered: outcome === "complete" && scanner !== undefined && tokens === undefined,
          });
        },
      });
      // The scanner saw the usage chunk (relay's onChunk); the client gets the stream it asked for.
      const body = sse && call.dropUsageChunk ? withoutUsageOnlyChunks(relayed) : relayed;
      return { status: upstream.status, headers, body };
    } catch (error) {
      const gatewayError = error instanceof GatewayError ? error : asGatewayError(error);
      // serveApi records the failed request.
      settle(call, link, undefined);
      throw gatewayError;
    }
  }


  /** A rerank answer in one shape whatever the backend (openai-compat.ts), metered on its total_tokens. */
  async function rerankAnswer(call: Call, upstream: UpstreamResponse, link: UpstreamLink): Promise<GatewayReply> {
    let raw: Uint8Array;
    const idle = setTimeout(() => link.controller.abort(new Aborted("idle_timeout")), call.definition.idleTimeoutMs);
    try {
      raw = upstream.body === null ? new Uint8Array(0) : await readSourceLimited(upstream.body, RERANK_RESPONSE_MAX_BYTES);
    } catch (error) {
      if (error instanceof BodyTooLargeError) throw new GatewayError(502, "upstream_bad_response", "The replica's rerank answer is too large.");
      throw new GatewayError(502, "upstream_bad_response", "The replica's rerank answer broke off.");
    } finally {
      clearTimeout(idle);
    }
    const headers = responseHeaders(upstream.headers, call.requestId);
    delete headers["content-length"];
    let parsed: unknown;
    try {
      parsed = JSON.parse(Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString("utf8"));
    } catch {
      parsed = undefined;
    }
    const answer = normaliseRerank(parsed, call.parsedRequest, { id: `rerank-${call.requestId}`, model: call.record.spec.model });
    if (answer === undefined) {
      settle(call, link, { status: upstream.status, unmetered: true });
      return { status: upstream.status, headers, body: raw };
    }
    const tokens = answer.usage.total_tokens;
    settle(call, link, { status: upstream.status, ...(tokens > 0 ? { promptTokens: tokens, completionTokens: 0 } : { unmetered: true }) });
    headers["content-type"] = "application/json";
    return { status: upstream.status, headers, body: Buffer.from(JSON.stringify(answer)) };
  }

  async function imagesWithUrls(
    call: Call,
    upstream: UpstreamResponse,
    link: UpstreamLink,
  ): Promise<GatewayReply> {
    let raw: Uint8Array;
    try {
      raw = upstream.body === null ? new Uint8Array(0) : await readSourceLimited(upstream.body, IMAGE_RESPONSE_MAX_BYTES);
    } catch (error) {
      if (error instanceof BodyTooLargeError) {
        throw new GatewayError(502, "upstream_bad_response", "The replica's images response is too large to convert to URLs.");
      }
      throw new GatewayError(502, "upstream_bad_response", "The replica's images response broke off.");
    }
    const headers = responseHeaders(upstream.headers, call.requestId);
    delete headers["content-length"];
    let parsed: unknown;
    try {
      parsed = JSON.parse(Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString("utf8"));
    } catch {
      parsed = undefined;
    }
    // Not the JSON object OpenAI's images answers are: passed on as the replica sent it.
    if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
      settle(call, link, { status: upstream.status });
      return { status: upstream.status, headers, body: raw };
    }
    const converted = await imagesToUrls(parsed as Record<string, unknown>, {
      blobs: options.blobs,
      serverSecret: ctx.serverSecret,
      base: (typeof options.publicUrl === "function" ? options.publicUrl() : options.publicUrl)?.replace(/\/+$/, ""),
      project: call.project,
      workload: call.workload,
      now: ctx.now(),
      ttlSeconds: fileTtl,
    });
    settle(call, link, { status: upstream.status });
    return { status: upstream.status, headers, body: Buffer.from(JSON.stringify(converted)) };
  }

  async function serveFile(request: GatewayRequest, url: URL, path: Extract<EndpointPath, { kind: "file" }>): Promise<GatewayReply> {
    if (request.method !== "GET" && request.method !== "HEAD") {
      throw new GatewayError(405, "method_not_allowed", "Files are read with GET.", { headers: { allow: "GET, HEAD" } });
    }
    const expires = Number(url.searchParams.get("expires") ?? "");
    const signature = url.searchParams.get("sig") ?? "";
    if (
      !FILE_ID_PATTERN.test(path.fileId) ||
      !Number.isSafeInteger(expires) ||
      !verifyFileSignature(ctx.serverSecret, path.project, path.workload, path.fileId, expires, signature)
    ) {
      throw new GatewayError(403, "file_url_invalid", "This file URL is not valid: its signature does not match.");
    }
    const now = ctx.now();
    if (expires * 1000 <= now.getTime()) {
      throw new GatewayError(403, "file_url_expired", "This file URL has expired; request the image again for a fresh URL.");
    }
    const blob = await options.blobs?.get(`${path.project}/${path.workload}/${path.fileId}`, now);
    if (blob === undefined) throw new GatewayError(404, "file_not_found", "This file is no longer available.");
    return {
      status: 200,
      body: request.method === "HEAD" ? null : blob.data,
      headers: {
        "content-type": blob.contentType,
        "content-length": String(blob.data.byteLength),
        "cache-control": `private, max-age=${Math.max(0, Math.floor(expires - now.getTime() / 1000))}`,
        "x-content-type-options": "nosniff",
        // Replica-produced bytes on the console's origin: never a document that runs script there.
        "content-security-policy": "default-src 'none'; sandbox",
      },
    };
  }

  return {
    handle: async (request) => toWebResponse(await serve(fromWebRequest(request))),
    serve,
    gatewayRequestRate: (incarnation) => requestRates.rate(incarnation),
    heldRequests: (project, workload) => {
      const id = `${project}/${workload}`;
      const holding = held.get(id);
      if (holding === undefined) return 0;
      const peak = holding.peak;
      if (holding.now === 0) held.delete(id);
      else holding.peak = holding.now;
      return peak;
    },
    invalidate: (project, workload) => routes.invalidate(project, workload),
    flushUsage: () => usage.flush(),
    flushUsageIfDue: () => usage.flushIfDue(),
    settleWrites: async () => {
      await Promise.all([usage.flush(), concurrency.drain()]);
    },
    close: async () => {
      concurrency.close();
      await concurrency.drain();
      await usage.stop();
      transport.close?.();
    },
  };
}

/**
 * Passes a response body through chunk by chunk (no buffering; `prefix` holds chunks already read
 * while deciding whether the body was small), letting `onChunk` observe each
 * one, aborting when the replica stays silent longer than `idleTimeoutMs` while a chunk is awaited,
 * and reporting once how the body ended. Cancelling it (client gone) cancels the upstream body.
 */
function relay(
  source: ChunkSource,
  prefix: Uint8Array[],
  hooks: {
    idleTimeoutMs: number;
    onChunk: ((chunk: Uint8Array) => void) | undefined;
    onIdle: () => void;
    onEnd: (outcome: "complete" | "cancelled" | "error") => void;
  },
): ChunkSource {
  let ended = false;
  let waitingSince: number | undefined;
  let timer: NodeJS.Timeout | undefined;
  const end = (outcome: "complete" | "cancelled" | "error") => {
    if (ended) return;
    ended = true;
    if (timer !== undefined) clearTimeout(timer);
    hooks.onEnd(outcome);
  };
  const check = () => {
    timer = undefined;
    if (ended) return;
    if (waitingSince !== undefined) {
      const silent = performance.now() - waitingSince;
      if (silent >= hooks.idleTimeoutMs) {
        hooks.onIdle();
        return;
      }
      arm(hooks.idleTimeoutMs - silent);
      return;
    }
    arm(hooks.idleTimeoutMs);
  };
  // One timer per response, re-armed only when it fires: cheaper than a timer per chunk.
  const arm = (ms: number) => {
    timer = setTimeout(check, ms);
    timer.unref();
  };
  arm(hooks.idleTimeoutMs);
  return {
    async next() {
      const early = prefix.shift();
      if (early !== undefined) {
        hooks.onChunk?.(early);
        return early;
      }
      if (ended) return undefined;
      waitingSince = performance.now();
      let chunk: Uint8Array | undefined;
      try {
        chunk = await source.next();
      } catch (error) {
        waitingSince = undefined;
        end("error");
        throw error;
      }
      waitingSince = undefined;
      if (chunk === undefined) {
        end("complete");
        return undefined;
      }
      hooks.onChunk?.(chunk);
      return chunk;
    },
    cancel(reason) {
      end("cancelled");
      source.cancel(reason);
    },
  };
}
