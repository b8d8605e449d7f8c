/**
 * The vendor-compatible control surface under `/api` (docs/compatibility.md): what the vendor's
 * official Python SDK (`inferencekey` on PyPI) sends, answered by the same domain functions, store,
 * tokens and scopes as `/v1`. Only the wire form differs: `model_name` for `model`, `config.command`
 * for `command`, workloads addressed by id, errors as `{"error": "<code or sentence>", ...}`.
 */
import * as z from "zod/mini";
import "../zod";
import { DEFAULT_CATALOG, type GpuCatalog } from "../catalog";
import { ConflictError, DriftError, type ErrorDetail, ForbiddenError, InferenceKeyError, NotFoundError, UnauthorizedError, ValidationError } from "../errors";
import { keys, type PlatformContext } from "../platform/context";
import { getProject } from "../projects";
import { closest } from "../spec/suggest";
import { validateSpec } from "../spec/validate";
import type { WorkloadSpec } from "../spec/schema";
import { queryAll } from "../store";
import { bearer, type Principal } from "../tokens";
import { deleteWorkload, ensureWorkload, getWorkloadRecord, readWorkloadReadiness, type WorkloadRecord } from "../workloads";
import { type ControlApiOptions, parseInput } from "./control-api";
import { readJsonBody } from "./json-body";
import { readinessEventStream } from "./readiness-events";
import { json } from "./responses";
import type { Router } from "./router";

interface CompatCallContext {
  principal: Principal;
  url: URL;
}

/** True for paths of this surface: its errors take the vendor's shape. */
export function isCompatPath(pathname: string): boolean {
  return pathname === "/api" || pathname.startsWith("/api/");
}

/** A project-scoped token named another project (the vendor SDK's `project_scope_mismatch`). */
export class ProjectScopeMismatchError extends ForbiddenError {
  constructor(tokenProject: string, asked: string) {
    super(`This token is scoped to project "${tokenProject}"; it cannot act on project "${asked}".`);
  }
}

const nullableText = (max: number) => z.nullish(z.string().check(z.maxLength(max)));

/** The `config` object: what the workload runs. `command` and `vllm_version` are all it holds here. */
const CompatConfigSchema = z.strictObject({
  command: nullableText(4096),
  vllm_version: nullableText(64),
});

/** A workload as the vendor SDK sends it (POST); PATCH sends any subset. */
const CompatWorkloadInputSchema = z.strictObject({
  name: z.string().check(z.maxLength(120)),
  slug: z.string().check(z.maxLength(63)),
  model_name: z.string().check(z.maxLength(300)),
  backend: z.string().check(z.maxLength(40)),
  task_type: nullableText(40),
  config: z.nullish(CompatConfigSchema),
  vllm_version: nullableText(64),
  worker_id: nullableText(80),
  gpu_resource_id: nullableText(120),
  execution_policy: nullableText(40),
  execution_policy_config: z.nullish(z.record(z.string(), z.unknown())),
  description: nullableText(2000),
});
type CompatWorkloadInput = z.output<typeof CompatWorkloadInputSchema>;
const CompatWorkloadPatchSchema = z.partial(CompatWorkloadInputSchema);

/** The workload object of this surface: exactly these fields. */
export interface CompatWorkload {
  id: string;
  project_id: string;
  name: string;
  slug: string;
  model_name: string;
  backend: string;
  task_type: string | null;
  config: Record<string, unknown>;
  vllm_version: string | null;
  worker_id: string | null;
  gpu_resource_id: string | null;
  execution_policy: string | null;
  execution_policy_config: Record<string, unknown> | null;
  description: string | null;
  created_at: string;
  updated_at: string;
}

/** Where this surface's wire names sit in the spec: validation details are reported in them. */
const SPEC_TO_COMPAT_PATH: Readonly<Record<string, string>> = {
  model: "model_name",
  command: "config.command",
  vllm_version: "config.vllm_version",
};

/** The spec input of `/v1` that a workload of this surface stands for. */
function specInputOf(input: CompatWorkloadInput): Record<string, unknown> {
  return {
    name: input.name,
    slug: input.slug,
    model: input.model_name,
    backend: input.backend,
    task_type: input.task_type,
    command: input.config?.command,
    vllm_version: input.config?.vllm_version ?? input.vllm_version,
    worker_id: input.worker_id,
    execution_policy: input.execution_policy,
    execution_policy_config: input.execution_policy_config,
  };
}

/** Validates with the one spec validation, naming fields as this surface does. */
function validateCompat(input: CompatWorkloadInput, catalog: GpuCatalog): WorkloadSpec {
  if (input.gpu_resource_id !== undefined && input.gpu_resource_id !== null) gpuResource(input.gpu_resource_id, catalog);
  try {
    return validateSpec(specInputOf(input));
  } catch (error) {
    if (!(error instanceof ValidationError)) throw error;
    throw new ValidationError(
      error.message,
      error.details.map((detail) => {
        const [head = "", ...rest] = detail.path.split(".");
        const mapped = SPEC_TO_COMPAT_PATH[head];
        return mapped === undefined ? detail : { ...detail, path: [mapped, ...rest].join(".") };
      }),
    );
  }
}

/**
 * `gpu_resource_id` names a GPU of the cloud catalog by the names `gpu_pool` takes ("NVIDIA L4", an
 * alias such as "Tesla T4") or an instance type of it ("g6.xlarge"). Placement follows the execution
 * policy (autoscaling's `cloud_pool.gpu_pool`); the value is validated and kept as sent.
 */
function gpuResource(value: string, catalog: GpuCatalog): void {
  const names = catalog.acceptedNames();
  if (names.includes(value) || catalog.instanceType(value) !== undefined) return;
  const instanceTypes = catalog.data.instance_types.map((t) => t.instance_type);
  const suggestion = closest(value, [...names, ...instanceTypes]);
  throw new ValidationError("The workload is invalid.", [
    {
      path: "gpu_resource_id",
      message: `"${value.slice(0, 120)}" is not a GPU in the catalog${suggestion === undefined ? "" : `; did you mean "${suggestion}"?`}`,
      received: value,
      expected: `a GPU name of the catalog (${names.join(", ")}) or one of its instance types (GET /v1/catalog/gpus)`,
      ...(suggestion === undefined ? {} : { suggestion }),
    },
  ]);
}

function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/**
 * A stored workload in this surface's form. Fields are shown as they were sent (the record's
 * `declared`) while they still mean what the stored spec holds; a field changed since through
 * `/v1` shows the stored value. No server-filled default replaces what a client sent.
 */
export function compatWorkload(record: WorkloadRecord): CompatWorkload {
  const spec = record.spec;
  const parsed = record.declared === undefined ? undefined : CompatWorkloadInputSchema.safeParse(record.declared);
  const declared = parsed?.success === true ? parsed.data : undefined;
  let normalised: WorkloadSpec | undefined;
  try {
    normalised = declared === undefined ? undefined : validateSpec(specInputOf(declared));
  } catch {
    normalised = undefined;
  }
  const asSent = <K extends keyof WorkloadSpec>(field: K): boolean => normalised !== undefined && sameJson(normalised[field], spec[field]);
  const specConfig = { command: spec.command, ...(spec.vllm_version === undefined ? {} : { vllm_version: spec.vllm_version }) };
  const configAsSent =
    declared?.config !== undefined && declared.config !== null && asSent("command") && asSent("vllm_version") ? declared.config : undefined;
  const policyAsSent = asSent("execution_policy") && asSent("execution_policy_config");
  return {
    id: record.id,
    project_id: record.project,
    name: asSent("name") && declared !== undefined ? declared.name : spec.name,
    slug: record.slug,
    model_name: spec.model,
    backend: spec.backend,
    task_type: asSent("task_type") ? (declared?.task_type ?? null) : spec.task_type,
    config: configAsSent ?? specConfig,
    vllm_version: spec.vllm_version ?? null,
    worker_id: spec.worker_id ?? null,
    gpu_resource_id: declared?.gpu_resource_id ?? null,
    execution_policy: policyAsSent ? (declared?.execution_policy ?? null) : spec.execution_policy,
    execution_policy_config: policyAsSent ? (declared?.execution_policy_config ?? null) : spec.execution_policy_config,
    description: declared?.description ?? null,
    created_at: record.created_at,
    updated_at: record.updated_at,
  };
}

/** The fields of a stored workload a PATCH starts from (what a client would send to re-create it). */
function inputOf(shown: CompatWorkload): Record<string, unknown> {
  const { id: _id, project_id: _project, created_at: _created, updated_at: _updated, ...input } = shown;
  return input;
}

function dropNulls(input: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(input).filter(([, value]) => value !== null && value !== undefined));
}

/** A project-scoped token may only name its own project; said plainly, since the token's scope is the caller's to know. */
function assertProjectScope(principal: Principal, project: string): void {
  if (principal.project !== undefined && principal.project !== project) throw new ProjectScopeMismatchError(principal.project, project);
}

const WORKLOAD_ID_PATTERN = /^wl_[0-9A-Za-z]{4,64}$/;

/**
 * Finds a workload by id through the id item written at its creation. A workload created before
 * those items existed is searched for once (in the token's own project, or every project for an
 * organisation token), and its item written.
 */
async function workloadById(ctx: PlatformContext, principal: Principal, id: string): Promise<WorkloadRecord> {
  const notFound = new NotFoundError(`workload ${id.slice(0, 80)} not found`);
  if (!WORKLOAD_ID_PATTERN.test(id)) throw notFound;
  const key = keys.workloadId(id);
  const indexed = (await ctx.store.get(key.pk, key.sk))?.data as { project?: string; slug?: string } | undefined;
  let place = typeof indexed?.project === "string" && typeof indexed.slug === "string" ? { project: indexed.project, slug: indexed.slug } : undefined;
  if (place === undefined) {
    place = await searchWorkloadId(ctx, principal, id);
    if (place === undefined) throw notFound;
    await ctx.store.put({ ...key, data: { ...place } }, { kind: "any" });
  }
  assertProjectScope(principal, place.project);
  const record = await getWorkloadRecord(ctx, principal, place.project, place.slug).catch((error: unknown) => {
    throw error instanceof NotFoundError ? notFound : error;
  });
  if (record.id !== id) throw notFound;
  return record;
}

async function searchWorkloadId(ctx: PlatformContext, principal: Principal, id: string): Promise<{ project: string; slug: string } | undefined> {
  const projects =
    principal.project === undefined
      ? (await queryAll(ctx.store, { pk: keys.org(), skPrefix: keys.projectPrefix() })).map((item) => item.sk.slice(keys.projectPrefix().length))
      : [principal.project];
  for (const slug of projects) {
    for (const item of await queryAll(ctx.store, { pk: keys.workload(slug, "").pk, skPrefix: keys.workloadPrefix() })) {
      const record = item.data as unknown as WorkloadRecord;
      if (record.id === id && record.deleted_at === undefined) return { project: slug, slug: record.slug };
    }
  }
  return undefined;
}

/** Every live workload of a project, in this surface's form (one array, as the vendor SDK reads it). */
async function listCompatWorkloads(ctx: PlatformContext, principal: Principal, project: string): Promise<CompatWorkload[]> {
  assertProjectScope(principal, project);
  try {
    await getProject(ctx, principal, project);
  } catch (error) {
    // An organisation token's first create makes the project: until then it has no workloads.
    if (error instanceof NotFoundError && principal.project === undefined) return [];
    throw error;
  }
  const items = await queryAll(ctx.store, { pk: keys.workload(project, "").pk, skPrefix: keys.workloadPrefix() });
  return items.map((item) => item.data as unknown as WorkloadRecord).filter((r) => r.deleted_at === undefined).map(compatWorkload);
}

function param(params: Record<string, string>, name: string): string {
  return params[name] ?? "";
}

/** Registers the `/api` routes beside the control API's own (same router, same authentication). */
export function registerCompatApi(router: Router<CompatCallContext>, ctx: PlatformContext, options: ControlApiOptions): void {
  const ensureOptions = options.admitWorkload === undefined ? {} : { admit: options.admitWorkload };
  const catalog = options.catalog ?? DEFAULT_CATALOG;
  router
    .on("GET", "/api/projects/:project/workloads", async (_r, p, c) => json(await listCompatWorkloads(ctx, c.principal, param(p, "project"))))
    .on("POST", "/api/projects/:project/workloads", async (request, p, c) => {
      const project = param(p, "project");
      assertProjectScope(c.principal, project);
      const input = parseInput(CompatWorkloadInputSchema, await readJsonBody(request), "workload");
      validateCompat(input, catalog);
      const exists = (id: string) =>
        new ConflictError(`workload "${input.slug}" already exists in project "${project}" (${id}); change it with PATCH /api/workloads/${id}`);
      // Create only: an existing slug is changed with PATCH /api/workloads/{id}.
      const existing = await getWorkloadRecord(ctx, c.principal, project, input.slug).catch(() => undefined);
      if (existing !== undefined) throw exists(existing.id);
      const result = await ensureWorkload(ctx, c.principal, project, specInputOf(input), {
        ...ensureOptions,
        onDrift: "fail",
        declared: dropNulls(input),
      }).catch(async (error: unknown) => {
        if (!(error instanceof DriftError)) throw error;
        throw exists((await getWorkloadRecord(ctx, c.principal, project, input.slug)).id);
      });
      const record = await getWorkloadRecord(ctx, c.principal, project, result.workload_slug);
      if (!result.created) throw exists(record.id);
      options.onWorkloadChange?.(project, record.slug);
      return json(compatWorkload(record), 201);
    })
    .on("GET", "/api/workloads/:id", async (_r, p, c) => json(compatWorkload(await workloadById(ctx, c.principal, param(p, "id")))))
    .on("PATCH", "/api/workloads/:id", async (request, p, c) => {
      const current = await workloadById(ctx, c.principal, param(p, "id"));
      const patch = parseInput(CompatWorkloadPatchSchema, await readJsonBody(request), "workload patch");
      if (patch.slug !== undefined && patch.slug !== current.slug) {
        throw new ValidationError("A workload's slug cannot change.", [
          { path: "slug", message: `workload ${current.id} is "${current.slug}"`, received: patch.slug, expected: current.slug },
        ]);
      }
      const base = inputOf(compatWorkload(current));
      // A new `config` is where the version now comes from (the vendor SDK sends it there).
      if (patch.config !== undefined && patch.vllm_version === undefined) delete base.vllm_version;
      const merged = parseInput(CompatWorkloadInputSchema, { ...base, ...patch }, "workload");
      validateCompat(merged, catalog);
      const result = await ensureWorkload(ctx, c.principal, current.project, specInputOf(merged), {
        ...ensureOptions,
        onDrift: "reconcile",
        declared: dropNulls(merged),
      });
      if (result.changed) options.onWorkloadChange?.(current.project, current.slug);
      return json(compatWorkload(await getWorkloadRecord(ctx, c.principal, current.project, current.slug)));
    })
    .on("DELETE", "/api/workloads/:id", async (_r, p, c) => {
      const current = await workloadById(ctx, c.principal, param(p, "id"));
      await deleteWorkload(ctx, c.principal, current.project, current.slug);
      options.onWorkloadChange?.(current.project, current.slug);
      return new Response(null, { status: 204 });
    })
    .on("GET", "/api/projects/:project/workloads/:slug/readiness-events", async (request, p, c) => {
      const project = param(p, "project");
      const slug = param(p, "slug");
      assertProjectScope(c.principal, project);
      const first = await readWorkloadReadiness(ctx, c.principal, project, slug);
      return readinessEventStream(first, () => readWorkloadReadiness(ctx, c.principal, project, slug), {
        ...options.readinessStream,
        signal: request.signal,
        // The vendor SDK reads `step` as a string (its "[step]" in the progress line).
        format: (event) => ({ ...event, step: `${event.step}/6` }),
      });
    });
}

/** The vendor SDK's codes for a refused credential, by what went wrong. */
function vendorCode(error: InferenceKeyError, request: Request): string {
  if (error instanceof ProjectScopeMismatchError) return "project_scope_mismatch";
  if (error instanceof UnauthorizedError) {
    const credential = bearer(request.headers.get("authorization"));
    if (credential !== undefined && (credential.startsWith("ik_live_") || credential.startsWith("ik_wrk_"))) return "wrong_credential_type";
  }
  if (error instanceof ForbiddenError) return "scope_insufficient";
  return error.code;
}

const VENDOR_FORBIDDEN_CODES = new Set(["wrong_credential_type", "project_scope_mismatch", "scope_insufficient"]);

function sentence(error: InferenceKeyError): string {
  const details = error.details.slice(0, 5).map((d: ErrorDetail) => `${d.path === "" ? "" : `${d.path}: `}${d.message}`);
  return details.length === 0 ? error.message : `${error.message} ${details.join("; ")}`;
}

/**
 * This surface's errors: `error` holds one of the vendor SDK's credential codes (which it raises
 * as PermissionDenied) or else the whole explanation (which it shows as the message); `code`,
 * `message`, `details` and `request_id` carry what `/v1` errors carry.
 */
export function compatErrorResponse(error: unknown, requestId: string, request: Request, log: (line: string) => void): Response {
  if (!(error instanceof InferenceKeyError)) {
    log(`[${requestId}] unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    return json(
      { error: "Internal error; quote the request id when reporting it.", code: "internal", message: "Internal error; quote the request id when reporting it.", request_id: requestId, details: [] },
      500,
      { "x-request-id": requestId },
    );
  }
  const code = vendorCode(error, request);
  const vendorForbidden = VENDOR_FORBIDDEN_CODES.has(code);
  const headers: Record<string, string> = { "x-request-id": requestId };
  if (error.retryAfterSeconds !== undefined) headers["retry-after"] = String(Math.ceil(error.retryAfterSeconds));
  if (error.status === 413) headers.connection = "close";
  return json(
    { error: vendorForbidden ? code : sentence(error), code, message: error.message, request_id: requestId, details: error.details },
    vendorForbidden ? 403 : error.status,
    headers,
  );
}
