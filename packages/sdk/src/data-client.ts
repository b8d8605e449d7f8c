import { Endpoint, type EndpointOptions } from "./data/endpoint";
import { DEFAULT_BASE_URL, ENV_VARS, readEnvironment } from "./env";
import { ConfigurationError } from "./errors";
import { DEFAULT_TIMEOUT_MS, type FetchLike, HttpClient, normaliseBaseUrl } from "./http/http-client";

/**
 * Options of `new DataClient(...)`.
 *
 * @example
 * ```ts
 * const options: DataClientOptions = { project: "acme", baseUrl: "http://localhost:8787", timeoutMs: 120_000 };
 * const data = new DataClient(options);
 * ```
 */
export interface DataClientOptions {
  /** The project whose workloads are called. */
  project: string;
  /**
   * The default `ik_live_` data key of `endpoint(slug)` when it is called without `{ apiKey }`
   * (handy with one workload; with several, pass each endpoint its own key).
   */
  apiKey?: string | undefined;
  /** API origin. Default `https://api.inferencekey.com`. */
  baseUrl?: string | undefined;
  /** A `fetch` to use instead of the global one (proxies, instrumentation, tests). */
  fetch?: FetchLike | undefined;
  /** Retries of refused calls (429, 503 `workload_scaling_up`, connection never made). Default 2. */
  maxRetries?: number | undefined;
  /** Timeout of each call in milliseconds, retries and waits included. Default 60 000. */
  timeoutMs?: number | undefined;
}

/**
 * Options of `DataClient.fromEnv(...)`: everything but the base URL, which comes from
 * `INFERENCEKEY_BASE_URL`. `project` defaults to `INFERENCEKEY_PROJECT` and `apiKey` to
 * `INFERENCEKEY_API_KEY`; what you pass wins.
 *
 * @example
 * ```ts
 * const options: DataClientFromEnvOptions = { project: "acme", maxRetries: 4 };
 * const data = DataClient.fromEnv(options);
 * ```
 */
export type DataClientFromEnvOptions = Omit<DataClientOptions, "baseUrl" | "project"> & {
  project?: string | undefined;
};

/**
 * The data plane of one project: `endpoint(slug, { apiKey })` gives a workload's
 * OpenAI-compatible endpoint with typed helpers (`generateText`, `streamText`, `chat`,
 * `streamChat`, `embed`). Needs no control token: each endpoint authenticates with its own
 * `ik_live_` data key.
 *
 * @example
 * ```ts
 * import { DataClient } from "@inferencekey/sdk";
 *
 * const data = DataClient.fromEnv({ project: "acme" });
 * const emb = await data
 *   .endpoint("billing", { apiKey: process.env.BILLING_IK_LIVE })
 *   .embed({ input: ["invoice #42", "refund policy"] });
 * console.log(emb.embeddings.length, "vectors", emb.model);
 * ```
 */
export class DataClient {
  /** The project whose workloads are called. */
  readonly project: string;
  /** The API origin, without a trailing slash. */
  readonly baseUrl: string;
  private readonly http: HttpClient;
  private readonly timeoutMs: number;
  private readonly apiKey: string | undefined;

  /**
   * Builds a client from explicit options; reads no environment variable. A missing project or a
   * malformed base URL is a `ConfigurationError` here, not at the first call.
   *
   * @example
   * ```ts
   * const data = new DataClient({ project: "acme", baseUrl: "http://localhost:8787" });
   * ```
   */
  constructor(options: DataClientOptions) {
    const project = typeof options?.project === "string" ? options.project.trim() : "";
    if (project === "") {
      throw new ConfigurationError(
        `DataClient needs a project, e.g. { project: "acme" } (DataClient.fromEnv() also reads ${ENV_VARS.project}).`,
      );
    }
    this.project = project;
    this.apiKey = options.apiKey;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    // No client-wide token: every endpoint sends its own data key.
    this.http = new HttpClient({
      baseUrl: options.baseUrl ?? DEFAULT_BASE_URL,
      fetch: options.fetch,
      maxRetries: options.maxRetries,
      timeoutMs: this.timeoutMs,
    });
    this.baseUrl = this.http.baseUrl;
  }

  /**
   * Builds a client whose base URL is `INFERENCEKEY_BASE_URL` (default
   * `https://api.inferencekey.com`), whose project is `options.project` or else
   * `INFERENCEKEY_PROJECT`, and whose default data key (for `endpoint(slug)` without `{ apiKey }`)
   * is `options.apiKey` or else `INFERENCEKEY_API_KEY`. Reads no control token.
   *
   * @example
   * ```ts
   * const data = DataClient.fromEnv({ project: "acme" });
   * const ep = DataClient.fromEnv().endpoint("support-bot"); // INFERENCEKEY_PROJECT, INFERENCEKEY_API_KEY
   * ```
   */
  static fromEnv(options: DataClientFromEnvOptions = {}): DataClient {
    const env = readEnvironment();
    const baseUrl = normaliseBaseUrl(env.baseUrl, ENV_VARS.baseUrl);
    const project = options.project ?? env.project;
    if (project === undefined || project.trim() === "") {
      throw new ConfigurationError(
        `DataClient.fromEnv() needs a project: pass { project: "acme" } or set ${ENV_VARS.project}.`,
      );
    }
    return new DataClient({ ...options, project, apiKey: options.apiKey ?? env.apiKey, baseUrl });
  }

  /**
   * The endpoint of workload `slug`, authenticated with its `ik_live_` data key (`options.apiKey`,
   * or when that property is absent the client's default: `apiKey` of the constructor or
   * `INFERENCEKEY_API_KEY` under `fromEnv()`). Throws a `ConfigurationError` naming `apiKey` when
   * the key is missing or blank (e.g. an unset environment variable), or is a control or agent
   * token, before any request.
   *
   * @example
   * ```ts
   * const ep = data.endpoint("support-bot", { apiKey: process.env.SUPPORT_IK_LIVE });
   * console.log(ep.baseUrl); // https://api.inferencekey.com/endpoint/acme/support-bot/v1
   * ```
   */
  endpoint(slug: string, options?: EndpointOptions): Endpoint {
    return new Endpoint(this.http, this.timeoutMs, this.project, slug, options, this.apiKey);
  }
}
