import * as z from "zod/mini";
import "../zod";
import { catalogEntries, DEFAULT_CATALOG, type GpuCatalog } from "../catalog";
import { SYNC_ROUTES_OF_ASYNC_MODALITIES } from "../gateway/routes";
import { MethodNotAllowedError, NotFoundError, ValidationError } from "../errors";
import { type Idempotency, parseIdempotencyKey } from "../idempotency";
import { createSigningSecret } from "../jobs/signing-secrets";
import { createKey, KeyInputSchema, listKeys, revokeKey, RotateInputSchema, rotateKey } from "../keys";
import type { PlatformContext } from "../platform/context";
import { createProject, deleteProject, getProject, listProjects, ProjectInputSchema } from "../projects";
import { MODALITIES } from "../spec/modalities";
import { formatPath } from "../spec/validate";
import { authenticateSdkToken, createToken, listTokens, type Principal, revokeToken } from "../tokens";
import { deregisterWorker, getWorker, listWorkers, registerWorker, WorkerInputSchema } from "../workers";
import { readUsage } from "../usage";
import {
  deleteWorkload,
  EnsureQuerySchema,
  ensureWorkload,
  getWorkload,
  getWorkloadRecord,
  listWorkloadEvents,
  listWorkloads,
  previewEnsure,
  readWorkloadReadiness,
  type WorkloadAdmission,
} from "../workloads";
import { registerInsightRoutes } from "./insight-routes";
import { registerProjectSecretRoutes } from "./project-secret-routes";
import { compatErrorResponse, isCompatPath, registerCompatApi } from "./compat-api";
import { readJsonBody } from "./json-body";
import { readinessEventStream, type ReadinessStreamOptions } from "./readiness-events";
import { errorResponse, json, requestIdOf } from "./responses";
import { Router } from "./router";

interface CallContext {
  principal: Principal;
  url: URL;
}

export interface ControlApiOptions {
  /** One line per request (method, path, status, duration, request id); never headers or bodies. */
  log?: (line: string) => void;
  /** Told after a workload was created, changed or deleted, so the controller can act at once. */
  onWorkloadChange?: (project: string, slug: string) => void;
  /** Said when a revoked organisation admin token is used: where the current one is. */
  revokedAdminTokenHint?: string;
  /**
   * Decides, before anything is written, whether this caller may have this spec run where it would
   * run; throws (a ForbiddenError) to refuse. `npm start` refuses project-scoped tokens a place on
   * the platform's own host (`INFERENCEKEY_LOCAL_COMMANDS`).
   */
  admitWorkload?: WorkloadAdmission;
  /** The GPU catalog `GET /v1/catalog/gpus` lists (default: the recorded one) and the region its prices are quoted in. */
  catalog?: GpuCatalog;
  catalogRegion?: string;
  /** Readiness event streams' poll, keep-alive and lifetime (a buffered Lambda answer needs a short lifetime). */
  readinessStream?: Pick<ReadinessStreamOptions, "pollMs" | "keepAliveMs" | "maxMs">;
}

/** Parses input with a zod schema and reports every issue in wire names. */
export function parseInput<S extends z.core.$ZodType>(schema: S, input: unknown, what: string): z.output<S> {
  const parsed = z.safeParse(schema, input);
  if (parsed.success) return parsed.data;
  throw new ValidationError(
    `The ${what} is invalid.`,
    parsed.error.issues.map((issue) => {
      const path = issue.code === "unrecognized_keys" ? [...issue.path, ...issue.keys] : issue.path;
      return {
        path: formatPath(path as (string | number)[]),
        message: issue.code === "unrecognized_keys" ? `unknown field(s): ${issue.keys.join(", ")}` : issue.message,
        ...(issue.code === "invalid_value" ? { expected: `one of ${issue.values.join(", ")}` } : {}),
      };
    }),
  );
}

const MAX_USAGE_RANGE_MS = 31 * 24 * 3600 * 1000;
const UsageQuerySchema = z.object({
  from: z.optional(z.iso.datetime({ offset: true })),
  to: z.optional(z.iso.datetime({ offset: true })),
});

const PageQuerySchema = z.object({
  limit: z.optional(z.coerce.number().check(z.int(), z.gte(1), z.lte(200))),
  cursor: z.optional(z.string().check(z.minLength(1), z.maxLength(2048))),
});

/** The caller's Idempotency-Key, scoped to the token and the route so keys never collide across callers. */
function idempotencyOf(request: Request, c: CallContext): Idempotency | undefined {
  return parseIdempotencyKey(request.headers.get("idempotency-key"), `${c.principal.tokenId}:${request.method} ${c.url.pathname}`);
}

function queryOf(url: URL): Record<string, string> {
  return Object.fromEntries(url.searchParams.entries());
}

function pageOf(url: URL): { limit?: number; cursor?: string } {
  const { limit, cursor } = parseInput(PageQuerySchema, { limit: url.searchParams.get("limit") ?? undefined, cursor: url.searchParams.get("cursor") ?? undefined }, "query string");
  return { ...(limit === undefined ? {} : { limit }), ...(cursor === undefined ? {} : { cursor }) };
}

function param(params: Record<string, string>, name: string): string {
  return params[name] ?? "";
}

function buildRouter(ctx: PlatformContext, options: ControlApiOptions): Router<CallContext> {
  const router = new Router<CallContext>();
  router
    .on("GET", "/v1/catalog/gpus", async () =>
      json({
        data: catalogEntries(options.catalog ?? DEFAULT_CATALOG, options.catalogRegion),
        catalog: { date: (options.catalog ?? DEFAULT_CATALOG).data.date, source: (options.catalog ?? DEFAULT_CATALOG).data.source },
      }),
    )
    .on("GET", "/v1/catalog/modalities", async () =>
      json({
        data: Object.values(MODALITIES).map((m) => ({
          task_type: m.taskType,
          description: m.description,
          mode: m.mode,
          // An async modality may still answer a route synchronously (a reranker's rerank).
          routes: m.mode === "sync" ? [...m.routes, "models"] : [...(SYNC_ROUTES_OF_ASYNC_MODALITIES[m.taskType] ?? [])],
          backends: m.backends,
        })),
      }),
    )
    .on("GET", "/v1/projects", async (_r, _p, c) => json(await listProjects(ctx, c.principal, pageOf(c.url))))
    .on("POST", "/v1/projects", async (request, _p, c) => {
      const input = parseInput(ProjectInputSchema, await readJsonBody(request), "project");
      return json(await createProject(ctx, c.principal, input), 201);
    })
    .on("GET", "/v1/projects/:project", async (_r, p, c) => json(await getProject(ctx, c.principal, param(p, "project"))))
    .on("DELETE", "/v1/projects/:project", async (_r, p, c) => json(await deleteProject(ctx, c.principal, param(p, "project"))))
    .on("PUT", "/v1/projects/:project/workloads/:slug", async (request, p, c) => {
      const body = await readJsonBody(request);
      const slug = param(p, "slug");
      if (body.slug !== undefined && body.slug !== slug) {
        throw new ValidationError("The spec's slug differs from the slug in the URL.", [
          { path: "slug", message: `the URL names workload "${slug}" but the spec says ${JSON.stringify(body.slug)}`, received: body.slug, expected: slug },
        ]);
      }
      const { on_drift, dry_run } = parseInput(EnsureQuerySchema, queryOf(c.url), "query string");
      if (dry_run) return json(await previewEnsure(ctx, c.principal, param(p, "project"), { ...body, slug }, on_drift, options.admitWorkload));
      const manager = managerOf(request);
      const result = await ensureWorkload(ctx, c.principal, param(p, "project"), { ...body, slug }, {
        onDrift: on_drift,
        ...(manager === undefined ? {} : { manager }),
        ...(options.admitWorkload === undefined ? {} : { admit: options.admitWorkload }),
      });
      if (result.changed) options.onWorkloadChange?.(result.project_slug, result.workload_slug);
      return json(result, result.created ? 201 : 200);
    })
    .on("GET", "/v1/projects/:project/workloads", async (_r, p, c) =>
      json(await listWorkloads(ctx, c.principal, param(p, "project"), pageOf(c.url))),
    )
    .on("GET", "/v1/projects/:project/workloads/:slug/events", async (_r, p, c) =>
      json(await listWorkloadEvents(ctx, c.principal, param(p, "project"), param(p, "slug"), pageOf(c.url))),
    )
    .on("GET", "/v1/projects/:project/workloads/:slug/readiness-events", async (request, p, c) => {
      const read = () => readWorkloadReadiness(ctx, c.principal, param(p, "project"), param(p, "slug"));
      return readinessEventStream(await read(), read, { ...options.readinessStream, signal: request.signal });
    })
    .on("GET", "/v1/projects/:project/workloads/:slug", async (_r, p, c) =>
      json(await getWorkload(ctx, c.principal, param(p, "project"), param(p, "slug"))),
    )
    .on("DELETE", "/v1/projects/:project/workloads/:slug", async (_r, p, c) => {
      const deleted = await deleteWorkload(ctx, c.principal, param(p, "project"), param(p, "slug"));
      options.onWorkloadChange?.(deleted.project_slug, deleted.workload_slug);
      return json(deleted);
    })
    .on("GET", "/v1/projects/:project/workloads/:slug/usage", async (_r, p, c) => {
      await getWorkloadRecord(ctx, c.principal, param(p, "project"), param(p, "slug"));
      const query = parseInput(UsageQuerySchema, queryOf(c.url), "query string");
      const to = query.to === undefined ? ctx.now() : new Date(query.to);
      const from = query.from === undefined ? new Date(to.getTime() - 3600_000) : new Date(query.from);
      if (from > to || to.getTime() - from.getTime() > MAX_USAGE_RANGE_MS) {
        throw new ValidationError("The usage range is invalid.", [
          { path: "from", message: "from must be before to, at most 31 days apart", received: query.from, expected: "an ISO 8601 instant within 31 days before `to`" },
        ]);
      }
      return json(await readUsage(ctx, param(p, "project"), param(p, "slug"), { from, to }));
    })
    .on("POST", "/v1/projects/:project/workloads/:slug/keys", async (request, p, c) => {
      const input = parseInput(KeyInputSchema, await readJsonBody(request), "key");
      const created = await createKey(ctx, c.principal, param(p, "project"), param(p, "slug"), input, idempotencyOf(request, c));
      return json({ ...created.key, key: created.secret }, 201);
    })
    .on("GET", "/v1/projects/:project/workloads/:slug/keys", async (_r, p, c) =>
      json({ data: await listKeys(ctx, c.principal, param(p, "project"), param(p, "slug")) }),
    )
    .on("DELETE", "/v1/projects/:project/workloads/:slug/keys/:key_id", async (_r, p, c) =>
      json(await revokeKey(ctx, c.principal, param(p, "project"), param(p, "slug"), param(p, "key_id"))),
    )
    .on("POST", "/v1/projects/:project/workloads/:slug/keys/:key_id/rotate", async (request, p, c) => {
      const input = parseInput(RotateInputSchema, await readJsonBody(request), "rotation");
      const rotated = await rotateKey(ctx, c.principal, param(p, "project"), param(p, "slug"), param(p, "key_id"), input, idempotencyOf(request, c));
      return json({ ...rotated.key, key: rotated.secret, previous: rotated.previous }, 201);
    })
    .on("POST", "/v1/projects/:project/workloads/:slug/webhook-secret", async (_r, p, c) =>
      json(await createSigningSecret(ctx, c.principal, param(p, "project"), param(p, "slug"), "webhook"), 201),
    )
    .on("POST", "/v1/projects/:project/workloads/:slug/producer-secret", async (_r, p, c) =>
      json(await createSigningSecret(ctx, c.principal, param(p, "project"), param(p, "slug"), "producer"), 201),
    )
    .on("POST", "/v1/projects/:project/workers", async (request, p, c) => {
      const input = parseInput(WorkerInputSchema, await readJsonBody(request), "worker");
      const created = await registerWorker(ctx, c.principal, param(p, "project"), input, idempotencyOf(request, c));
      return json({ ...created.worker, token: created.token }, 201);
    })
    .on("GET", "/v1/projects/:project/workers", async (_r, p, c) =>
      json({ data: await listWorkers(ctx, c.principal, param(p, "project")) }),
    )
    .on("GET", "/v1/projects/:project/workers/:worker_id", async (_r, p, c) =>
      json(await getWorker(ctx, c.principal, param(p, "project"), param(p, "worker_id"))),
    )
    .on("DELETE", "/v1/projects/:project/workers/:worker_id", async (_r, p, c) =>
      json(await deregisterWorker(ctx, c.principal, param(p, "project"), param(p, "worker_id"))),
    )
    .on("POST", "/v1/tokens", async (request, _p, c) => {
      const input = parseInput(
        z.strictObject({ name: z.string().check(z.trim(), z.minLength(1), z.maxLength(120)), project: z.optional(z.string().check(z.minLength(1))) }),
        await readJsonBody(request),
        "token",
      );
      const created = await createToken(ctx, c.principal, input);
      return json({ ...created.token, token: created.secret }, 201);
    })
    .on("GET", "/v1/tokens", async (_r, _p, c) => json({ data: await listTokens(ctx, c.principal) }))
    .on("DELETE", "/v1/tokens/:token_id", async (_r, p, c) => json(await revokeToken(ctx, c.principal, param(p, "token_id"))));
  registerInsightRoutes(router, ctx);
  registerProjectSecretRoutes(router, ctx);
  registerCompatApi(router, ctx, options);
  return router;
}

/**
 * The control API as a web-standard handler: `Request -> Response`. Served by the Lambda entry
 * (`functions/control-api.ts`) and by the local runtime alike.
 */
export function createControlApi(ctx: PlatformContext, options: ControlApiOptions = {}): (request: Request) => Promise<Response> {
  const router = buildRouter(ctx, options);
  const log = options.log ?? ((line: string) => console.log(line));
  const authOptions = options.revokedAdminTokenHint === undefined ? {} : { revokedAdminTokenHint: options.revokedAdminTokenHint };
  return async (request) => {
    const started = performance.now();
    const requestId = requestIdOf(request);
    const url = new URL(request.url);
    let response: Response;
    try {
      if (url.pathname === "/v1/health") {
        if (request.method !== "GET" && request.method !== "HEAD") {
          throw new MethodNotAllowedError(`${request.method} is not allowed on /v1/health; allowed: GET, HEAD`);
        }
        response = json({ ok: true });
      } else {
        const match = router.match(request.method, url.pathname);
        if (match === undefined) throw new NotFoundError(`no route ${request.method} ${url.pathname}; see docs/api.md`);
        if ("allowed" in match) {
          throw new MethodNotAllowedError(`${request.method} is not allowed on ${url.pathname}; allowed: ${match.allowed.join(", ")}`);
        }
        const principal = await authenticateSdkToken(ctx, request.headers.get("authorization"), authOptions);
        response = await match.handler(request, match.params, { principal, url });
        response.headers.set("x-request-id", requestId);
      }
    } catch (error) {
      response = isCompatPath(url.pathname) ? compatErrorResponse(error, requestId, request, log) : errorResponse(error, requestId, log);
    }
    log(`${request.method} ${url.pathname} ${response.status} ${(performance.now() - started).toFixed(1)}ms ${requestId}`);
    return response;
  };
}

/** `X-InferenceKey-Manager`: the tool applying a managed set (`cli`), a short lowercase name. */
function managerOf(request: Request): string | undefined {
  const value = request.headers.get("x-inferencekey-manager")?.trim();
  if (value === undefined || value === "") return undefined;
  if (!/^[a-z][a-z0-9-]{0,31}$/.test(value)) {
    throw new ValidationError("The X-InferenceKey-Manager header names a tool in lowercase letters, digits and '-'.", [
      { path: "X-InferenceKey-Manager", message: "not a tool name", received: value.slice(0, 64), expected: "e.g. cli" },
    ]);
  }
  return value;
}
