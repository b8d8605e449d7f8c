import { FUNCTION_ENV, LAMBDA_BUNDLE } from "../packages/aws/src/deployment";
import { reservedConcurrency, tracing } from "./options";
import { router } from "./router";
import { serverSecretParameter } from "./secrets";
import { table } from "./storage";

/** Item actions on the table. No `dynamodb:*`: nothing here can describe, scan or delete the table. */
export const TABLE_ITEM_ACTIONS = [
  "dynamodb:GetItem",
  "dynamodb:PutItem",
  "dynamodb:UpdateItem",
  "dynamodb:DeleteItem",
  "dynamodb:ConditionCheckItem",
] as const;

/**
 * Explicit DynamoDB permissions on the table and its index (TransactWriteItems is authorised per
 * item by these same actions). `Query` is the only action on the index.
 */
export function tablePermissions(itemActions: readonly (typeof TABLE_ITEM_ACTIONS)[number][]): sst.aws.FunctionPermissionArgs[] {
  return [
    { actions: [...itemActions], resources: [table.arn] },
    { actions: ["dynamodb:Query"], resources: [table.arn, $interpolate`${table.arn}/index/*`] },
  ];
}

interface PlatformFunctionArgs {
  /** Names the function in logs, metrics, traces and `INFERENCEKEY_RESERVED_CONCURRENCY`. */
  service: string;
  handler: string;
  timeout: NonNullable<sst.aws.FunctionArgs["timeout"]>;
  memory: NonNullable<sst.aws.FunctionArgs["memory"]>;
  permissions: sst.aws.FunctionPermissionArgs[];
  streaming?: boolean;
  /** A Function URL with auth NONE: reached through the Router, which adds the origin header the entry checks. */
  url?: boolean;
  retries?: number;
  /** Files copied beside the bundle (the console's build, for the control API). */
  copyFiles?: { from: string; to: string }[];
  /** What this function reads besides what every function gets (a bucket's, a queue's name). */
  environment?: Record<string, $util.Input<string>>;
}

/**
 * Every function the platform runs: Node 22 outside any VPC (Function URLs do not stream from a
 * VPC-attached function), no `link` (linking grants `dynamodb:*`), the table's name, the server
 * secret parameter's name and the base URL in the environment (never the secret), read access to that one
 * parameter, X-Ray tracing when the deployment turned it on (`INFERENCEKEY_TRACING=active`), JSON
 * logs kept 30 days, reserved concurrency when asked for.
 */
export function platformFunction(args: PlatformFunctionArgs): sst.aws.FunctionArgs {
  const reserved = reservedConcurrency[args.service];
  const install = LAMBDA_BUNDLE.install[args.service] ?? [];
  return {
    handler: args.handler,
    runtime: "nodejs22.x",
    architecture: "arm64",
    timeout: args.timeout,
    memory: args.memory,
    ...(args.streaming ? { streaming: true } : {}),
    ...(args.url ? { url: { authorization: "none" as const, cors: false as const } } : {}),
    ...(args.retries === undefined ? {} : { retries: args.retries }),
    ...(args.copyFiles === undefined ? {} : { copyFiles: args.copyFiles }),
    ...(reserved === undefined ? {} : { concurrency: { reserved } }),
    environment: {
      [FUNCTION_ENV.table]: table.name,
      [FUNCTION_ENV.serverSecretParameter]: serverSecretParameter.name,
      // The base URL, for signed file URLs (never taken from a request's Host header).
      [FUNCTION_ENV.publicUrl]: router.url,
      POWERTOOLS_SERVICE_NAME: args.service,
      POWERTOOLS_METRICS_NAMESPACE: `InferenceKey/${$app.stage}`,
      ...(tracing === "active" ? { [FUNCTION_ENV.tracing]: "active" } : {}),
      ...args.environment,
    },
    permissions: [
      ...args.permissions,
      // The secrets middleware reads this one parameter; the AWS managed key (aws/ssm) decrypts for SSM.
      { actions: ["ssm:GetParameter"], resources: [serverSecretParameter.arn] },
      // X-Ray has no resource-level permissions.
      ...(tracing === "active" ? [{ actions: ["xray:PutTraceSegments", "xray:PutTelemetryRecords"], resources: ["*"] }] : []),
    ],
    nodejs: {
      format: LAMBDA_BUNDLE.format,
      minify: LAMBDA_BUNDLE.minify,
      splitting: LAMBDA_BUNDLE.splitting,
      banner: LAMBDA_BUNDLE.banner,
      esbuild: { external: [...LAMBDA_BUNDLE.external] },
      ...(install.length > 0 ? { install: [...install] } : {}),
    },
    logging: { format: "json", retention: "1 month" },
    // PassThrough: Lambda forwards a caller's trace header but samples nothing itself.
    transform: { function: { tracingConfig: { mode: tracing === "active" ? "Active" : "PassThrough" } } },
  };
}

export const outputs = {};
