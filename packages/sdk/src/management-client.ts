import type { DryRunResult, EnsureResult, WorkloadView } from "@inferencekey/core";
import { camelKeys } from "./casing";
import { DEFAULT_BASE_URL, ENV_VARS, readEnvironment } from "./env";
import type { OnDrift } from "./enums";
import { ConfigurationError, errorForStatus, InferenceKeyError, ValidationError } from "./errors";
import { type CallOptions, type FetchLike, HttpClient, normaliseBaseUrl } from "./http/http-client";
import { KeysResource } from "./resources/keys";
import { pathOf } from "./resources/paths";
import { isoOf } from "./resources/call-options";
import {
  toWorkloadUsage,
  type UsageOptions,
  type UsageReportWire,
  type WorkloadUsage,
} from "./resources/usage";
import { type ReadinessEvent, type WaitUntilReadyOptions, waitUntilReady } from "./resources/readiness";
import { WorkersResource } from "./resources/workers";
import { SecretsResource } from "./resources/secrets";
import { callOf } from "./resources/call-options";
import {
  type DeletedWorkload,
  type EnsurePreview,
  type EnsureRef,
  type GpuCatalogEntry,
  type GpuCatalogEntryWire,
  type Page,
  type WorkloadEvent,
  type WorkloadEventWire,
  toDeletedWorkload,
  toEnsureRef,
  toWorkload,
  toWorkloadPage,
  type Workload,
} from "./resources/workloads";
import { callerPath, type EnsureSpec, type OpenLiteral, toWireSpec } from "./spec";

/**
 * Options of `new ManagementClient(...)`.
 *
 * @example
 * ```ts
 * const options: ManagementClientOptions = { token: "ik_sdk_...", project: "acme", maxRetries: 4, timeoutMs: 30_000 };
 * const mgmt = new ManagementClient(options);
 * ```
 */
export interface ManagementClientOptions {
  /** The `ik_sdk_` control token. */
  token: string;
  /** The project every call acts on (created by the first `ensure()` of an organisation token). */
  project: string;
  /** API origin. Default `https://api.inferencekey.com`. */
  baseUrl?: string | undefined;
  /** A `fetch` to use instead of the global one (proxies, instrumentation, tests). */
  fetch?: FetchLike | undefined;
  /** Retries of transient failures (connection errors, timeouts, 408, 429, 5xx); see the class notes. Default 2. */
  maxRetries?: number | undefined;
  /** Per-attempt timeout in milliseconds. Default 60 000. */
  timeoutMs?: number | undefined;
}

/**
 * Options of `ManagementClient.fromEnv(...)`: everything but the token and base URL, which come
 * from `INFERENCEKEY_SDK_TOKEN` and `INFERENCEKEY_BASE_URL`.
 *
 * @example
 * ```ts
 * const options: FromEnvOptions = { project: "acme", timeoutMs: 10_000 };
 * const mgmt = ManagementClient.fromEnv(options);
 * ```
 */
export type FromEnvOptions = Omit<ManagementClientOptions, "token" | "baseUrl" | "project"> & {
  /** Default: `INFERENCEKEY_PROJECT`. */
  project?: string | undefined;
};

/**
 * Options of `ensure()`.
 *
 * @example
 * ```ts
 * const options: EnsureOptions = { onDrift: OnDrift.Fail, timeoutMs: 20_000 };
 * await mgmt.ensure(spec, options);
 * ```
 */
export interface EnsureOptions extends CallOptions {
  /** What to do when the stored spec differs. Default `reconcile` (apply the requested spec). */
  onDrift?: OpenLiteral<OnDrift> | undefined;
  /**
   * Marks the workload as applied by this tool (stored as `managedBy`, never in the spec): the
   * `inferencekey` CLI sends `"cli"`, so `apply --prune` deletes only what it applied.
   */
  manager?: string | undefined;
}

/**
 * Options of `list()`.
 *
 * @example
 * ```ts
 * const first = await mgmt.list({ limit: 20 });
 * const second = await mgmt.list({ limit: 20, cursor: first.nextCursor });
 * ```
 */
export interface ListOptions extends CallOptions {
  /** Page size, 1-200 (server default 50). */
  limit?: number | undefined;
  /** `nextCursor` of the previous page. */
  cursor?: string | undefined;
}

/**
 * The control plane of one project: declare workloads with `ensure()`, read and delete them,
 * manage their data keys (`keys`) and the project's private workers (`workers`). Authenticates
 * with an `ik_sdk_` control token.
 *
 * Retries: idempotent calls (`ensure`, `get`, `list`, `delete`, `keys.list`, `keys.revoke`,
 * `workers.list`, `workers.get`, `workers.deregister`) are retried on connection errors,
 * timeouts, 408, 429 and 5xx with capped, jittered exponential backoff, honouring `Retry-After`
 * on 429/503. Creates (`keys.create`, `keys.rotate`, `workers.register`) are retried on those
 * failures only when given an `idempotencyKey`; without one, only when the server provably did
 * nothing (429, or a connection that failed before the request was sent).
 *
 * @example
 * ```ts
 * import { ManagementClient, Backend } from "@inferencekey/sdk";
 *
 * const mgmt = ManagementClient.fromEnv({ project: "acme" });
 * const ref = await mgmt.ensure({
 *   name: "Support bot",
 *   slug: "support-bot",
 *   model: "meta-llama/Llama-3.1-8B-Instruct",
 *   backend: Backend.Vllm,
 *   executionPolicy: "fixed",
 *   executionPolicyConfig: { replicas: 1 },
 * });
 * console.log(ref.projectSlug, ref.workloadSlug); // acme support-bot
 * ```
 */
export class ManagementClient {
  /** The project every call acts on. */
  readonly project: string;
  /** The API origin, without a trailing slash. */
  readonly baseUrl: string;
  /** Data keys of the project's workloads. */
  readonly keys: KeysResource;
  /** The project's private workers. */
  readonly workers: WorkersResource;
  /** The project's secrets (environment variables of its backends, such as `HF_TOKEN`). */
  readonly secrets: SecretsResource;
  private readonly http: HttpClient;

  /**
   * Builds a client from explicit options; reads no environment variable. A missing token or
   * project is a `ConfigurationError` here, not at the first call.
   *
   * @example
   * ```ts
   * const mgmt = new ManagementClient({ token: process.env.MY_IK_SDK_TOKEN ?? "", project: "acme", baseUrl: "http://localhost:8787" });
   * ```
   */
  constructor(options: ManagementClientOptions) {
    const token = typeof options.token === "string" ? options.token.trim() : "";
    if (token === "") {
      throw new ConfigurationError(
        `ManagementClient needs an ik_sdk_ control token: pass { token } or set ${ENV_VARS.sdkToken} and use ManagementClient.fromEnv().`,
      );
    }
    if (token.startsWith("ik_live_") || token.startsWith("ik_wrk_")) {
      const kind = token.startsWith("ik_live_")
        ? "an ik_live_ data key (it calls endpoints)"
        : "an ik_wrk_ agent token";
      throw new ConfigurationError(`ManagementClient was given ${kind}; it needs an ik_sdk_ control token.`);
    }
    const project = typeof options.project === "string" ? options.project.trim() : "";
    if (project === "") {
      throw new ConfigurationError('ManagementClient needs a project, e.g. { project: "acme" }.');
    }
    this.project = project;
    this.http = new HttpClient({
      baseUrl: options.baseUrl ?? DEFAULT_BASE_URL,
      token,
      fetch: options.fetch,
      maxRetries: options.maxRetries,
      timeoutMs: options.timeoutMs,
    });
    this.baseUrl = this.http.baseUrl;
    this.keys = new KeysResource(this.http, project);
    this.workers = new WorkersResource(this.http, project);
    this.secrets = new SecretsResource(this.http, project);
  }

  /**
   * Builds a client from `INFERENCEKEY_SDK_TOKEN` and `INFERENCEKEY_BASE_URL` (default
   * `https://api.inferencekey.com`); the project is `options.project`, or else
   * `INFERENCEKEY_PROJECT`. Throws a `ConfigurationError` naming the variable when the token (or
   * any project) is missing.
   *
   * @example
   * ```ts
   * const mgmt = ManagementClient.fromEnv({ project: "acme" }); // reads INFERENCEKEY_SDK_TOKEN
   * ```
   */
  static fromEnv(options: FromEnvOptions = {}): ManagementClient {
    const env = readEnvironment();
    const project = options.project ?? env.project;
    if (project === undefined || project.trim() === "") {
      throw new ConfigurationError(
        `ManagementClient.fromEnv() needs a project: pass { project: "acme" } or set ${ENV_VARS.project}.`,
      );
    }
    if (env.token === undefined) {
      throw new ConfigurationError(
        `${ENV_VARS.sdkToken} is not set: export your ik_sdk_ control token, or pass { token } to new ManagementClient(). ` +
          "Under `npm start`, `source .inferencekey/dev.env` sets it (the organisation admin token); " +
          "other tokens are made with POST /v1/tokens (docs/api.md).",
      );
    }
    const baseUrl = normaliseBaseUrl(env.baseUrl, ENV_VARS.baseUrl);
    return new ManagementClient({ ...options, project, token: env.token, baseUrl });
  }

  /**
   * Makes the workload `spec.slug` match `spec`, idempotent by slug: creates it, changes it in
   * place (the default `onDrift: "reconcile"`), throws a `DriftError` (`"fail"`) or keeps the
   * stored spec (`"ignore"`). Safe to retry, so transient failures are retried.
   *
   * @example
   * ```ts
   * const ref = await mgmt.ensure({
   *   name: "Billing embeddings",
   *   slug: "billing",
   *   model: "BAAI/bge-large-en-v1.5",
   *   backend: Backend.Vllm,
   *   taskType: "embedding",
   *   executionPolicy: "scheduled",
   *   executionPolicyConfig: { cron: "0 2 * * *" },
   * });
   * console.log(ref.created ? "created" : ref.changed ? "updated" : "unchanged", ref.generation);
   * ```
   */
  async ensure(spec: EnsureSpec, options: EnsureOptions = {}): Promise<EnsureRef> {
    // The slug names the URL; without one the request would hit another route entirely.
    if (typeof spec.slug !== "string" || spec.slug === "") {
      throw new ValidationError({
        code: "validation_failed",
        message:
          "The workload spec needs a slug: it names the workload in ensure(), get() and the endpoint URL.",
        details: [
          {
            path: "slug",
            message: "slug is required",
            received: spec.slug,
            expected: 'a DNS label such as "support-bot"',
          },
        ],
      });
    }
    const result = await this.http
      .json<EnsureResult>({
        method: "PUT",
        path: pathOf`/v1/projects/${this.project}/workloads/${spec.slug}`,
        query: { on_drift: options.onDrift },
        body: toWireSpec(spec),
        ...(options.manager === undefined ? {} : { headers: { "x-inferencekey-manager": options.manager } }),
        ...callOf(options),
      })
      .catch((error: unknown) => {
        throw inCallerNames(error, spec);
      });
    return toEnsureRef(result);
  }

  /**
   * What `ensure(spec)` would do, without doing it: the same validation and comparison, nothing
   * written. `created`/`changed` say what would happen, `differences` lists each field that would
   * change, `generation` is the generation the workload would have.
   *
   * @example
   * ```ts
   * const plan = await mgmt.preview({ ...spec, model: "meta-llama/Llama-3.1-70B-Instruct" });
   * for (const d of plan.differences) console.log(`${d.path}: ${JSON.stringify(d.from)} -> ${JSON.stringify(d.to)}`);
   * ```
   */
  async preview(spec: EnsureSpec, options: Omit<EnsureOptions, "manager"> = {}): Promise<EnsurePreview> {
    const result = await this.http
      .json<DryRunResult>({
        method: "PUT",
        path: pathOf`/v1/projects/${this.project}/workloads/${spec.slug}`,
        query: { on_drift: options.onDrift, dry_run: "true" },
        body: toWireSpec(spec),
        ...callOf(options),
      })
      .catch((error: unknown) => {
        throw inCallerNames(error, spec);
      });
    return camelKeys(result);
  }

  /**
   * One page of a workload's events, newest first (pass `nextCursor` back as `cursor` for older
   * ones). Each event's `id` orders it: to follow a workload, poll the first page and keep the
   * events whose id is greater than the last one seen.
   *
   * @example
   * ```ts
   * const { data } = await mgmt.events("support-bot", { limit: 10 });
   * for (const e of data.reverse()) console.log(e.at, e.type, e.message);
   * ```
   */
  async events(slug: string, options: ListOptions = {}): Promise<Page<WorkloadEvent>> {
    const page = await this.http.json<{ data: WorkloadEventWire[]; next_cursor?: string }>({
      method: "GET",
      path: pathOf`/v1/projects/${this.project}/workloads/${slug}/events`,
      query: { limit: options.limit, cursor: options.cursor },
      ...callOf(options),
    });
    return { data: page.data.map((event) => camelKeys(event)), nextCursor: page.next_cursor };
  }

  /**
   * The GPU catalog: the display names `gpu_pool` accepts, with VRAM, nominal hourly price and the
   * CUDA versions their drivers support.
   *
   * @example
   * ```ts
   * for (const gpu of await mgmt.gpuCatalog()) console.log(gpu.displayName, gpu.vramGb, gpu.hourlyPriceUsd);
   * ```
   */
  async gpuCatalog(options?: CallOptions): Promise<GpuCatalogEntry[]> {
    const catalog = await this.http.json<{ data: GpuCatalogEntryWire[] }>({ method: "GET", path: "/v1/catalog/gpus", ...callOf(options) });
    return catalog.data.map((entry) => camelKeys(entry));
  }

  /**
   * Reads one workload with its status. Throws `NotFoundError` when it does not exist.
   *
   * @example
   * ```ts
   * const workload = await mgmt.get("support-bot");
   * console.log(workload.status.readyReplicas, workload.spec.model);
   * ```
   */
  async get(slug: string, options?: CallOptions): Promise<Workload> {
    const view = await this.http.json<WorkloadView>({
      method: "GET",
      path: pathOf`/v1/projects/${this.project}/workloads/${slug}`,
      ...callOf(options),
    });
    return toWorkload(view);
  }

  /**
   * One page of the project's workloads. Pass `nextCursor` back as `cursor` for the next page,
   * or use {@link ManagementClient.listAll} to walk every page.
   *
   * @example
   * ```ts
   * const page = await mgmt.list({ limit: 20 });
   * console.log(page.data.map((w) => w.slug), page.nextCursor);
   * ```
   */
  async list(options: ListOptions = {}): Promise<Page<Workload>> {
    const page = await this.http.json<{ data: WorkloadView[]; next_cursor?: string }>({
      method: "GET",
      path: pathOf`/v1/projects/${this.project}/workloads`,
      query: { limit: options.limit, cursor: options.cursor },
      ...callOf(options),
    });
    return toWorkloadPage(page);
  }

  /**
   * Every workload of the project, fetching pages of `limit` lazily as the loop advances.
   *
   * @example
   * ```ts
   * for await (const workload of mgmt.listAll()) {
   *   console.log(workload.slug, workload.status.decision);
   * }
   * ```
   */
  async *listAll(options: Omit<ListOptions, "cursor"> = {}): AsyncGenerator<Workload, void, undefined> {
    let cursor: string | undefined;
    do {
      const page = await this.list({ ...options, cursor });
      yield* page.data;
      cursor = page.nextCursor;
    } while (cursor !== undefined);
  }

  /**
   * Deletes a workload: its replicas stop and its slug can be ensured again later.
   *
   * @example
   * ```ts
   * await mgmt.delete("support-bot");
   * ```
   */
  async delete(slug: string, options?: CallOptions): Promise<DeletedWorkload> {
    const result = await this.http.json<Parameters<typeof toDeletedWorkload>[0]>({
      method: "DELETE",
      path: pathOf`/v1/projects/${this.project}/workloads/${slug}`,
      ...callOf(options),
    });
    return toDeletedWorkload(result);
  }

  /**
   * Waits until the workload serves, following its readiness events (`GET .../readiness-events`,
   * Server-Sent Events: scheduling, placing, launching, pulling, starting, ready) and returns the
   * `ready` event. Progress goes to stderr by default (one line redrawn in place on a terminal,
   * plain lines otherwise), to your `onProgress`, or nowhere (`silent: true`). An `error` event
   * throws `WorkloadNotReadyError` with the server's reason; `timeoutMs` (default 15 minutes)
   * running out throws `WaitTimeoutError`. A dropped stream is reconnected.
   *
   * @example
   * ```ts
   * const ref = await mgmt.ensure(spec);
   * await mgmt.waitUntilReady(ref.workloadSlug, { timeoutMs: 600_000 });
   * await mgmt.waitUntilReady("support-bot", { onProgress: (e) => console.log(e.step, e.phase, e.message) });
   * ```
   */
  async waitUntilReady(
    workload: string | { workloadSlug: string },
    options: WaitUntilReadyOptions = {},
  ): Promise<ReadinessEvent> {
    const slug = typeof workload === "string" ? workload : workload?.workloadSlug;
    if (typeof slug !== "string" || slug === "") {
      throw new ConfigurationError('waitUntilReady() needs the workload slug, e.g. mgmt.waitUntilReady("support-bot").');
    }
    return waitUntilReady(this.http, this.project, slug, options);
  }

  /**
   * Data-plane usage of a workload over a range: requests, errors, tokens and latency, in total,
   * per data key and per minute. `from` and `to` take ISO 8601 strings or `Date`s; what is
   * omitted gets the server's default range.
   *
   * @example
   * ```ts
   * const usage = await mgmt.usage("support-bot", { from: new Date(Date.now() - 24 * 3_600_000) });
   * console.log(usage.totals.requests, usage.totals.totalTokens);
   * for (const k of usage.byKey) console.log(k.keyId, k.totalTokens);
   * ```
   */
  async usage(workload: string, options: UsageOptions = {}): Promise<WorkloadUsage> {
    const report = await this.http.json<UsageReportWire>({
      method: "GET",
      path: pathOf`/v1/projects/${this.project}/workloads/${workload}/usage`,
      query: { from: isoOf(options.from), to: isoOf(options.to) },
      ...callOf(options),
    });
    return toWorkloadUsage(report);
  }
}

/**
 * The server names fields in wire (snake_case) paths; an ensure() caller wrote camelCase top-level
 * keys, so its validation and drift details (and the summary message quoting them) name the fields
 * as written. The error keeps its class, code and every other field.
 */
function inCallerNames(error: unknown, spec: EnsureSpec): unknown {
  if (!(error instanceof InferenceKeyError) || error.status === undefined || error.details.length === 0) return error;
  let message = error.message;
  const details = error.details.map((detail) => {
    const path = callerPath(detail.path, spec);
    if (path !== detail.path) message = message.split(`${detail.path}: `).join(`${path}: `);
    return { ...detail, path };
  });
  return errorForStatus({
    status: error.status,
    code: error.code,
    message,
    requestId: error.requestId,
    details,
    retryAfterSeconds: error.retryAfterSeconds,
    errorType: error.errorType,
  });
}
