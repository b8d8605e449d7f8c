import { randomUUID } from "node:crypto";
import { nodeHttp as http, nodeHttps as https } from "@inferencekey/core";
import { type AwsCredentials, SigningKeyCache, signRequest } from "./sigv4";

/**
 * A client for the AWS services that speak the JSON protocol (DynamoDB, SSM, SQS, EventBridge) on
 * the paths every Lambda invocation takes: one signed POST per call over node:http(s) with
 * keep-alive, standard retries, AWS's error names. The AWS SDK v3 clients do the same through a
 * stack that costs 100-200 ms of CPU to load, which every cold start would pay before its first
 * request (docs/benchmarks.md, "Lambda bundle load"); node:http is loaded by the Lambda runtime
 * itself, so this costs almost nothing. The SDK clients stay for everything else (EC2, S3, table
 * creation, tests with aws-sdk-client-mock), loaded where they are used.
 *
 * Credentials come from the environment, where Lambda puts the execution role's
 * (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`), or are passed in; there is
 * no profile or SSO chain (use the SDK clients where those are needed).
 */

/** The JSON-protocol services this client is used with, and how each is addressed. */
export const AWS_JSON_SERVICES = {
  dynamodb: {
    signingName: "dynamodb",
    endpointPrefix: "dynamodb",
    targetPrefix: "DynamoDB_20120810",
    jsonVersion: "1.0",
    envName: "DYNAMODB",
  },
  ssm: {
    signingName: "ssm",
    endpointPrefix: "ssm",
    targetPrefix: "AmazonSSM",
    jsonVersion: "1.1",
    envName: "SSM",
  },
  sqs: {
    signingName: "sqs",
    endpointPrefix: "sqs",
    targetPrefix: "AmazonSQS",
    jsonVersion: "1.0",
    envName: "SQS",
  },
  events: {
    signingName: "events",
    endpointPrefix: "events",
    targetPrefix: "AWSEvents",
    jsonVersion: "1.1",
    envName: "EVENTBRIDGE",
  },
} as const;

export type AwsJsonService = keyof typeof AWS_JSON_SERVICES;

export interface AwsJsonClientOptions {
  service: AwsJsonService;
  /** Default: `AWS_REGION`, then `AWS_DEFAULT_REGION`. */
  region?: string;
  /** Default: `AWS_ENDPOINT_URL_<SERVICE>`, then `AWS_ENDPOINT_URL`, then the regional endpoint. */
  endpoint?: string;
  /** Default: the environment's (Lambda's execution role). */
  credentials?: AwsCredentials;
  /** Total tries per call, the first included. Default 3. */
  maxAttempts?: number;
  /** Default 1000: a connection not made by then is abandoned (and retried). */
  connectTimeoutMs?: number;
  /** Default 3000: the whole answer of one try, connection included. */
  requestTimeoutMs?: number;
  env?: NodeJS.ProcessEnv;
  /** Injectable for tests: the wait before a retry. */
  sleep?: (ms: number) => Promise<void>;
  now?: () => Date;
}

export const AWS_JSON_CLIENT_DEFAULTS = {
  maxAttempts: 3,
  connectTimeoutMs: 1_000,
  requestTimeoutMs: 3_000,
} as const;

/** Largest answer read: DynamoDB's largest (a 16 MB BatchGetItem) with room. */
const MAX_RESPONSE_BYTES = 20 * 1024 * 1024;

/**
 * An error AWS answered (its `name` is AWS's error code, e.g. `ConditionalCheckFailedException`,
 * as the SDK names it), or a call that got no answer. The fields of AWS's error body (DynamoDB's
 * `Item`, `CancellationReasons`) are on the error, as the SDK puts them.
 */
export class AwsServiceError extends Error {
  override readonly name: string;
  readonly $fault: "client" | "server";
  readonly $metadata: { httpStatusCode?: number; requestId?: string; attempts: number };
  readonly $retryable: boolean;
  [field: string]: unknown;

  constructor(
    name: string,
    message: string,
    details: {
      status?: number;
      requestId?: string;
      attempts: number;
      retryable: boolean;
      fields?: Record<string, unknown>;
    },
  ) {
    super(message);
    for (const [key, value] of Object.entries(details.fields ?? {})) {
      // Defined, not assigned: a body field named __proto__ must not replace the error's prototype.
      if (!RESERVED_FIELDS.has(key)) Object.defineProperty(this, key, { value, enumerable: true, writable: true, configurable: true });
    }
    this.name = name;
    this.$fault = details.status !== undefined && details.status < 500 ? "client" : "server";
    this.$metadata = {
      ...(details.status === undefined ? {} : { httpStatusCode: details.status }),
      ...(details.requestId === undefined ? {} : { requestId: details.requestId }),
      attempts: details.attempts,
    };
    this.$retryable = details.retryable;
  }
}

/** Fields of an error body that never land on the error: its own, and what would change its prototype. */
const RESERVED_FIELDS = new Set(["name", "message", "stack", "$fault", "$metadata", "$retryable", "__type", "__proto__", "constructor", "prototype"]);

/** Error codes AWS uses for throttling; retried with a longer backoff (the SDK's list). */
const THROTTLING = new Set([
  "BandwidthLimitExceeded",
  "EC2ThrottledException",
  "LimitExceededException",
  "PriorRequestNotComplete",
  "ProvisionedThroughputExceededException",
  "RequestLimitExceeded",
  "RequestThrottled",
  "RequestThrottledException",
  "SlowDown",
  "ThrottledException",
  "Throttling",
  "ThrottlingException",
  "TooManyRequestsException",
  "TransactionInProgressException",
]);
/** Transient error codes (the SDK's list) besides HTTP 500, 502, 503, 504. */
const TRANSIENT = new Set([
  "InternalServerError",
  "RequestTimeout",
  "RequestTimeoutException",
  "ServiceUnavailable",
  "TimeoutError",
]);
/** Connection errors worth another try. */
const NETWORK_CODES = new Set([
  "ECONNRESET",
  "ECONNREFUSED",
  "EPIPE",
  "ETIMEDOUT",
  "EAI_AGAIN",
  "ENOTFOUND",
  "ECONNABORTED",
]);

const agents = {
  http: new http.Agent({ keepAlive: true, maxSockets: 50 }),
  https: new https.Agent({ keepAlive: true, maxSockets: 50 }),
};

/** `com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException` -> `ConditionalCheckFailedException`. */
export function awsErrorCode(type: string): string {
  return (type.split("#").pop() ?? type).split(":")[0]?.trim() ?? type;
}

export function regionalEndpoint(service: AwsJsonService, region: string): string {
  return `https://${AWS_JSON_SERVICES[service].endpointPrefix}.${region}.amazonaws.com${region.startsWith("cn-") ? ".cn" : ""}`;
}

export class AwsJsonClient {
  readonly service: AwsJsonService;
  readonly #options: AwsJsonClientOptions;
  readonly #env: NodeJS.ProcessEnv;
  readonly #maxAttempts: number;
  readonly #connectTimeoutMs: number;
  readonly #requestTimeoutMs: number;
  readonly #sleep: (ms: number) => Promise<void>;
  readonly #now: () => Date;
  readonly #keys = new SigningKeyCache();
  #resolved: { region: string; endpoint: URL } | undefined;

  /** Reads nothing yet: region, endpoint and credentials are resolved on the first call, as the SDK does. */
  constructor(options: AwsJsonClientOptions) {
    this.service = options.service;
    this.#options = options;
    this.#env = options.env ?? process.env;
    this.#maxAttempts = Math.max(1, options.maxAttempts ?? AWS_JSON_CLIENT_DEFAULTS.maxAttempts);
    this.#connectTimeoutMs = options.connectTimeoutMs ?? AWS_JSON_CLIENT_DEFAULTS.connectTimeoutMs;
    this.#requestTimeoutMs = options.requestTimeoutMs ?? AWS_JSON_CLIENT_DEFAULTS.requestTimeoutMs;
    this.#sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.#now = options.now ?? (() => new Date());
  }

  /** The region and endpoint calls go to (resolved from the options, then the environment). */
  get target(): { region: string; endpoint: URL } {
    if (this.#resolved !== undefined) return this.#resolved;
    const env = this.#env;
    const region = this.#options.region ?? (env.AWS_REGION?.trim() || env.AWS_DEFAULT_REGION?.trim());
    if (!region)
      throw new AwsServiceError(
        "ConfigurationError",
        `no AWS region for ${this.service}: set AWS_REGION (Lambda sets it)`,
        { attempts: 0, retryable: false },
      );
    const envName = AWS_JSON_SERVICES[this.service].envName;
    const endpoint =
      this.#options.endpoint ??
      (env[`AWS_ENDPOINT_URL_${envName}`]?.trim() ||
        env.AWS_ENDPOINT_URL?.trim() ||
        regionalEndpoint(this.service, region));
    let url: URL;
    try {
      url = new URL(endpoint);
    } catch {
      url = new URL("invalid:");
    }
    if (url.protocol !== "https:" && url.protocol !== "http:") {
      throw new AwsServiceError(
        "ConfigurationError",
        `the ${this.service} endpoint must be an http(s) URL, not ${JSON.stringify(endpoint.slice(0, 200))}`,
        { attempts: 0, retryable: false },
      );
    }
    this.#resolved = { region, endpoint: url };
    return this.#resolved;
  }

  /**
   * Calls `operation` (e.g. `GetItem`) with `input` as its JSON body and returns the parsed answer.
   * Throttling, 5xx, timeouts and dropped connections are retried with jittered exponential
   * backoff, up to `maxAttempts` tries in all; every other error is thrown at once.
   */
  async call<Output = Record<string, unknown>>(operation: string, input: object): Promise<Output> {
    const body = JSON.stringify(input);
    // One id for every try of this call, as the SDK sends it (AWS correlates the retries by it).
    const invocationId = randomUUID();
    for (let attempt = 1; ; attempt++) {
      try {
        return (await this.#once(operation, body, attempt, invocationId)) as Output;
      } catch (error) {
        const retryable = error instanceof AwsServiceError && error.$retryable;
        if (!retryable || attempt >= this.#maxAttempts) throw error;
        const base = THROTTLING.has(error.name) || error.$metadata.httpStatusCode === 429 ? 500 : 100;
        await this.#sleep(Math.random() * Math.min(20_000, base * 2 ** (attempt - 1)));
      }
    }
  }

  #once(operation: string, body: string, attempt: number, invocationId: string): Promise<unknown> {
    const definition = AWS_JSON_SERVICES[this.service];
    const { region, endpoint: url } = this.target;
    const credentials = this.#options.credentials ?? credentialsFromEnv(this.#env);
    const headers: Record<string, string> = {
      host: url.host,
      "content-type": `application/x-amz-json-${definition.jsonVersion}`,
      "x-amz-target": `${definition.targetPrefix}.${operation}`,
    };
    const signed = signRequest(
      {
        method: "POST",
        path: "/",
        headers,
        body,
        region,
        service: definition.signingName,
        credentials,
        date: this.#now(),
      },
      this.#keys,
    );
    const transport = url.protocol === "https:" ? https : http;
    const fail = (name: string, message: string, retryable: boolean) =>
      new AwsServiceError(name, message, { attempts: attempt, retryable });
    return new Promise((resolve, reject) => {
      let settled = false;
      const finish = (error: Error | undefined, value?: unknown) => {
        if (settled) return;
        settled = true;
        clearTimeout(requestTimer);
        if (error === undefined) resolve(value);
        else reject(error);
      };
      const request = transport.request({
        protocol: url.protocol,
        hostname: url.hostname,
        port: url.port || undefined,
        method: "POST",
        path: "/",
        agent: url.protocol === "https:" ? agents.https : agents.http,
        headers: {
          ...headers,
          ...signed,
          "content-length": String(Buffer.byteLength(body)),
          "amz-sdk-invocation-id": invocationId,
          "amz-sdk-request": `attempt=${attempt}; max=${this.#maxAttempts}`,
        },
      });
      const requestTimer = setTimeout(() => {
        request.destroy(
          fail(
            "TimeoutError",
            `${this.service} ${operation}: no answer within ${this.#requestTimeoutMs} ms`,
            true,
          ),
        );
      }, this.#requestTimeoutMs);
      request.on("socket", (socket) => {
        if (!socket.connecting) return;
        const connectTimer = setTimeout(() => {
          request.destroy(
            fail(
              "TimeoutError",
              `${this.service} ${operation}: no connection to ${url.host} within ${this.#connectTimeoutMs} ms`,
              true,
            ),
          );
        }, this.#connectTimeoutMs);
        socket.once("connect", () => clearTimeout(connectTimer));
        socket.once("secureConnect", () => clearTimeout(connectTimer));
        socket.once("close", () => clearTimeout(connectTimer));
      });
      request.on("error", (error: NodeJS.ErrnoException) => {
        if (error instanceof AwsServiceError) return finish(error);
        const retryable = NETWORK_CODES.has(error.code ?? "") || /socket hang up/i.test(error.message);
        finish(
          fail(error.code ?? "NetworkingError", `${this.service} ${operation}: ${error.message}`, retryable),
        );
      });
      request.on("response", (response) => {
        const chunks: Buffer[] = [];
        let size = 0;
        response.on("data", (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_RESPONSE_BYTES) {
            response.destroy();
            finish(
              fail(
                "ResponseTooLarge",
                `${this.service} ${operation}: answer over ${MAX_RESPONSE_BYTES} bytes`,
                false,
              ),
            );
            return;
          }
          chunks.push(chunk);
        });
        response.on("error", (error) =>
          finish(fail("NetworkingError", `${this.service} ${operation}: ${error.message}`, true)),
        );
        response.on("end", () => {
          const status = response.statusCode ?? 0;
          const text = Buffer.concat(chunks).toString("utf8");
          let parsed: unknown;
          try {
            parsed = text === "" ? {} : JSON.parse(text);
          } catch {
            parsed = undefined;
          }
          const requestId = headerValue(response.headers["x-amzn-requestid"]);
          if (status >= 200 && status < 300 && parsed !== undefined) return finish(undefined, parsed);
          const fields =
            typeof parsed === "object" && parsed !== null ? (parsed as Record<string, unknown>) : {};
          const type =
            typeof fields.__type === "string"
              ? fields.__type
              : headerValue(response.headers["x-amzn-errortype"]);
          const name =
            type === undefined
              ? status >= 500
                ? "InternalServerError"
                : `Http${status}`
              : awsErrorCode(type);
          const message = [fields.message, fields.Message].find((value) => typeof value === "string") as
            | string
            | undefined;
          // A 429 is throttling whatever its code (as the SDK has it); AWS's JSON services mostly answer a 400 with a code.
          const retryable = [500, 502, 503, 504].includes(status) || status === 429 || THROTTLING.has(name) || TRANSIENT.has(name);
          finish(
            new AwsServiceError(name, message ?? `${this.service} ${operation} answered HTTP ${status}`, {
              status,
              ...(requestId === undefined ? {} : { requestId }),
              attempts: attempt,
              retryable,
              fields,
            }),
          );
        });
      });
      request.end(body);
    });
  }
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** The credentials Lambda puts in the environment (or a shell's exported ones). */
export function credentialsFromEnv(env: NodeJS.ProcessEnv = process.env): AwsCredentials {
  const accessKeyId = env.AWS_ACCESS_KEY_ID?.trim();
  const secretAccessKey = env.AWS_SECRET_ACCESS_KEY?.trim();
  if (!accessKeyId || !secretAccessKey) {
    throw new AwsServiceError(
      "CredentialsError",
      "no AWS credentials: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be set (Lambda sets them from the execution role)",
      { attempts: 0, retryable: false },
    );
  }
  const sessionToken = env.AWS_SESSION_TOKEN?.trim();
  return { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) };
}
