import { createHmac, timingSafeEqual } from "node:crypto";

/**
 * What infra/* and the Lambda entries agree on: environment names, the origin header, and the
 * limits that CloudFront and Lambda put in front of the handlers. No AWS SDK and no platform code
 * here: infra/* imports this file, so the deployment and the functions read the same numbers.
 */

/**
 * The region every stage deploys to, pinned (sst.config.ts, the preflight): a deployment never
 * follows the deploying shell's AWS_REGION. Change it before a stage's first deploy, never after.
 */
export const DEPLOY_REGION = "us-east-1";

/** The environment infra/ gives every function (never a secret: the server secret stays in SSM). */
export const FUNCTION_ENV = {
  table: "INFERENCEKEY_TABLE",
  /** Name of the SSM SecureString parameter holding the server secret keyring. */
  serverSecretParameter: "INFERENCEKEY_SERVER_SECRET_PARAMETER",
  /** The public base URL (the Router's), for signed file URLs and messages. */
  publicUrl: "INFERENCEKEY_PUBLIC_URL",
  /** `active` when the deployment turned X-Ray tracing on (`INFERENCEKEY_TRACING`): the entries then load the tracer. */
  tracing: "INFERENCEKEY_TRACING",
} as const;

/**
 * X-Ray tracing of the functions, chosen at deploy time with `INFERENCEKEY_TRACING`: `off` (the
 * default) or `active`. Off, Lambda passes trace headers through and the entries never load the
 * Powertools tracer; active, each function samples traces and its entry loads the tracer at init,
 * which costs about 90 ms of CPU on every cold start (the X-Ray SDK, docs/benchmarks.md "Lambda
 * bundle load"). Throws naming the value when it is neither.
 */
export type TracingMode = "off" | "active";

export function parseTracingMode(text: string | undefined): TracingMode {
  const value = text?.trim().toLowerCase() ?? "";
  if (value === "" || value === "off") return "off";
  if (value === "active") return "active";
  throw new Error(`INFERENCEKEY_TRACING: "${(text ?? "").slice(0, 40)}" is not a tracing mode; use off (the default) or active`);
}

/**
 * The header CloudFront adds to every request it forwards to a Function URL. The URLs take
 * unauthenticated requests (auth NONE: an origin access control would sign the request and so
 * replace the caller's `Authorization`), so a request without this header did not come through
 * the Router and is refused before any handler runs.
 */
export const ORIGIN_HEADER = "x-inferencekey-origin";

/** The origin header's value for one server secret: derived, so rotating the server secret rotates it too. */
export function originHeaderValue(serverSecret: string): string {
  return createHmac("sha256", serverSecret).update("inferencekey:origin-header").digest("base64url");
}

/** True when `given` is the origin header value of one of these server secrets (constant time each). */
export function isOriginHeaderValid(given: string | undefined, serverSecrets: readonly string[]): boolean {
  if (given === undefined) return false;
  const bytes = Buffer.from(given);
  return serverSecrets.some((secret) => {
    const expected = Buffer.from(originHeaderValue(secret));
    return expected.length === bytes.length && timingSafeEqual(expected, bytes);
  });
}

const MiB = 1024 * 1024;

/**
 * Limits in AWS, in the order that matters: every wait of the gateway ends before CloudFront gives
 * up on the origin, so a caller always gets the gateway's own error, never CloudFront's 504.
 */
export const AWS_LIMITS = {
  /**
   * CloudFront's origin response timeout (the Router's `readTimeout`): the longest wait for the
   * first byte and between two bytes. 60 s is the most CloudFront allows without a quota increase.
   */
  originReadTimeoutSeconds: 60,
  /** Connecting to a replica (the gateway's `connectTimeoutMs`). */
  connectTimeoutMs: 5_000,
  /** Ceiling of `X-Scale-Up-Timeout`: a held request waits at most this for a replica. */
  maxScaleUpWaitSeconds: 20,
  /** Replica's response headers, after connecting. */
  firstByteTimeoutMs: 30_000,
  /** Longest silence between two chunks of a response that is not SSE (SSE gets keep-alives). */
  idleTimeoutMs: 50_000,
  /** An SSE stream with nothing to send sends a `:` comment this often, so CloudFront sees bytes. */
  sseKeepAliveMs: 15_000,
  /**
   * The control API function's timeout (its Function URL streams, as the gateway's does): a
   * readiness stream follows a workload for up to `readinessStreamMaxMs`, ended cleanly before it.
   */
  controlApiTimeoutSeconds: 900,
  /**
   * A readiness stream's lifetime in AWS: a cold start on a new GPU node (launch, weights, engine)
   * fits, and the stream ends, with its "reconnect" comment, a minute before the function's timeout.
   */
  readinessStreamMaxMs: 14 * 60_000,
  /** Kept back from the control API's invocation deadline to end an open stream cleanly. */
  controlApiCloseReserveMs: 2_000,
  /**
   * Lambda refuses invocation payloads above 6 MB (the event JSON, with binary bodies base64
   * encoded). Bodies with a Content-Length above this get our 413 at the edge; the gateway caps
   * every route at it too.
   */
  maxRequestBodyBytes: 4 * MiB,
} as const;

/** Seconds a request may wait before its first byte at most: hold, connect, then first byte. */
export function worstCaseFirstByteSeconds(limits: typeof AWS_LIMITS = AWS_LIMITS): number {
  return limits.maxScaleUpWaitSeconds + (limits.connectTimeoutMs + limits.firstByteTimeoutMs) / 1000;
}

/** The functions behind the Router (infra/ names each after its target). */
export type RouterTarget = "controlApi" | "agentApi" | "gateway";

/**
 * The one public base URL's path routes (the Router in infra/router.ts, and the local router that
 * mirrors it in tests): `/v1` and `/api` the control API (`/api` for the compatibility routes),
 * `/console` the control API's console pages, `/endpoint` the gateway, `/agent` the agent API.
 */
export const ROUTER_ROUTES: readonly { path: string; target: RouterTarget }[] = [
  { path: "/v1", target: "controlApi" },
  { path: "/api", target: "controlApi" },
  { path: "/console", target: "controlApi" },
  { path: "/endpoint", target: "gateway" },
  { path: "/agent", target: "agentApi" },
];

/**
 * The route a path takes, matched as the Router's CloudFront function matches: the path equals
 * the route's prefix or continues it with `/`, the longest prefix winning. Undefined: no route
 * (CloudFront answers 404).
 */
export function routeForPath(path: string): RouterTarget | undefined {
  let best: { path: string; target: RouterTarget } | undefined;
  for (const route of ROUTER_ROUTES) {
    const matches = path === route.path || (path.startsWith(route.path) && path[route.path.length] === "/");
    if (matches && (best === undefined || route.path.length > best.path.length)) best = route;
  }
  return best?.target;
}

/**
 * The code the Router's viewer-request CloudFront function runs first, for every request
 * (cloudfront-js-2.0; it may return a response instead of the request): a body whose declared
 * length Lambda would refuse gets our 413 with our error body, and the request is marked with the
 * origin header (replacing any the caller sent). The local router runs this same code.
 */
export function routerViewerRequestInjection(originValue: string, maxRequestBodyBytes: number = AWS_LIMITS.maxRequestBodyBytes): string {
  if (!/^[A-Za-z0-9_-]+$/.test(originValue)) throw new Error("the origin header value must be base64url");
  const message = `The request body is larger than this deployment accepts (${maxRequestBodyBytes} bytes, the AWS Lambda payload limit with its encoding overhead); send a smaller body.`;
  return `
  var ikLength = event.request.headers["content-length"];
  if (ikLength && Number(ikLength.value) > ${maxRequestBodyBytes}) {
    return {
      statusCode: 413,
      statusDescription: "Payload Too Large",
      headers: { "content-type": { value: "application/json; charset=utf-8" }, "connection": { value: "close" } },
      body: { encoding: "text", data: JSON.stringify({ error: { code: "payload_too_large", message: ${JSON.stringify(message)}, request_id: event.context.requestId, details: [] } }) }
    };
  }
  event.request.headers["${ORIGIN_HEADER}"] = { value: "${originValue}" };
`;
}

/** The functions `INFERENCEKEY_RESERVED_CONCURRENCY` may name (their `service` in infra/). */
export const PLATFORM_SERVICES = ["control-api", "agent-api", "gateway", "controller", "controller-project", "admin-token"] as const;

/**
 * Parses `INFERENCEKEY_RESERVED_CONCURRENCY`, e.g. `gateway=50,control-api=5`: reserved executions
 * per function. Unset or empty: no reservation. Throws naming the entry that is wrong.
 */
export function parseReservedConcurrency(text: string | undefined): Record<string, number> {
  const reserved: Record<string, number> = {};
  if (text === undefined || text.trim() === "") return reserved;
  for (const entry of text.split(",")) {
    const [name = "", value = ""] = entry.split("=").map((part) => part.trim());
    if (!(PLATFORM_SERVICES as readonly string[]).includes(name)) {
      throw new Error(`INFERENCEKEY_RESERVED_CONCURRENCY: "${name.slice(0, 40)}" is not a function; use ${PLATFORM_SERVICES.join(", ")}`);
    }
    if (!/^[1-9][0-9]{0,4}$/.test(value)) {
      throw new Error(`INFERENCEKEY_RESERVED_CONCURRENCY: ${name}=${value.slice(0, 20)} must be a whole number from 1 to 99999`);
    }
    reserved[name] = Number(value);
  }
  return reserved;
}

/** Lambda keeps this many concurrent executions unreserved in every account and region. */
export const LAMBDA_MIN_UNRESERVED = 100;

/**
 * Why the account cannot grant these reservations, or an empty list. `unreservedNow` is the
 * account's UnreservedConcurrentExecutions, `reservedNowByUs` what this stage's functions hold
 * already (a redeploy gives it back before taking the new amounts).
 */
export function reservedConcurrencyProblems(
  account: { concurrentExecutions: number; unreservedNow: number },
  requested: Record<string, number>,
  reservedNowByUs = 0,
): string[] {
  const total = Object.values(requested).reduce((sum, value) => sum + value, 0);
  if (total === 0) return [];
  const available = account.unreservedNow + reservedNowByUs - LAMBDA_MIN_UNRESERVED;
  if (total <= available) return [];
  return [
    `reserved concurrency ${total} (${Object.entries(requested)
      .map(([name, value]) => `${name}=${value}`)
      .join(", ")}) is more than this account can reserve: ${Math.max(0, available)} of its ${account.concurrentExecutions} concurrent executions ` +
      `(Lambda keeps ${LAMBDA_MIN_UNRESERVED} unreserved; new accounts often have a quota of 10). Lower INFERENCEKEY_RESERVED_CONCURRENCY or ask for a higher "Concurrent executions" quota in Service Quotas.`,
  ];
}

/**
 * How every function is bundled (infra/functions.ts gives SST these; the bundle budget test
 * bundles the same way). ES modules, minified; the AWS SDK v3 clients are left to the Node.js 22
 * runtime, which ships them (bundled, each would add hundreds of KB), and only load where an
 * entry uses one off its every-call path: the calls every invocation makes go through
 * `AwsJsonClient`. `@aws-sdk/util-dynamodb` (pure, a few KB) is bundled. The banner gives
 * CommonJS dependencies (the X-Ray SDK) the `require` an ES module lacks. Split into chunks: what an
 * entry imports only on some paths (`import()`: the controllers' EC2 and SSM clients, needed only
 * with a node pool) is a chunk loaded on first use, not at init.
 */
export const LAMBDA_BUNDLE = {
  format: "esm",
  minify: true,
  splitting: true,
  external: ["@aws-sdk/client-*", "@aws-sdk/lib-*", "@smithy/*"],
  /**
   * Packages installed beside a function's bundle instead of bundled into it (SST
   * `nodejs.install`), by service: none today. The gateway and the jobs consumer reach replicas
   * through node:http rather than undici (about 500 KB, ~190 ms of CPU to load).
   */
  install: {} as Readonly<Record<string, readonly string[]>>,
  banner: 'import { createRequire as __ikCreateRequire } from "node:module"; const require = __ikCreateRequire(import.meta.url);',
} as const;

/**
 * Each function's bundle (its chunks included) stays under `maxBytes`, and loading it (the cold
 * start's init, before the first invocation) takes under `targetLoadMs` of CPU on the build machine
 * with tracing off (functions/test/bundles.test.ts, docs/benchmarks.md "Lambda bundle load").
 */
export const LAMBDA_BUNDLE_BUDGET = { maxBytes: 1_000_000, targetLoadMs: 150 } as const;
