import { PutParameterCommand, SSMClient } from "@aws-sdk/client-ssm";
import {
  awsConfigFromEnv,
  createDynamoDocumentClient,
  DynamoStore,
  dynamoClientOptionsFromConfig,
  ensureTable,
  ORIGIN_HEADER,
  originHeaderValue,
  sdkDynamoDocumentApi,
} from "@inferencekey/aws";
import { bootstrapAdminToken } from "@inferencekey/core";
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context, ScheduledEvent } from "aws-lambda";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { installLambdaStreamingRuntime, invokeStreamed } from "../../test/support/lambda-streaming";
import { type RunningMoto, startMoto } from "../../test/support/moto";

/**
 * The Lambda entries, invoked as Lambda would (Function URL events, an EventBridge event), against a
 * DynamoDB API server (moto server, the shared AWS emulator: the controller's writes are
 * transactions, which dynalite lacks) with the table infra/storage.ts defines, the server secret
 * read from an SSM SecureString parameter on the same emulator, as infra/secrets.ts stores it.
 */
const SERVER_SECRET = "test-server-secret";

function functionUrlEvent(method: string, path: string, options: { token?: string; body?: unknown; origin?: string } = {}): APIGatewayProxyEventV2 {
  return {
    version: "2.0",
    routeKey: "$default",
    rawPath: path,
    rawQueryString: "",
    headers: {
      host: "abc.lambda-url.us-east-1.on.aws",
      "content-type": "application/json",
      // What the Router adds to every request it forwards (a direct call to the Function URL lacks it).
      [ORIGIN_HEADER]: options.origin ?? originHeaderValue(SERVER_SECRET),
      ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
    },
    requestContext: {
      accountId: "123456789012",
      apiId: "abc",
      domainName: "abc.lambda-url.us-east-1.on.aws",
      domainPrefix: "abc",
      http: { method, path, protocol: "HTTP/1.1", sourceIp: "127.0.0.1", userAgent: "test" },
      requestId: "r",
      routeKey: "$default",
      stage: "$default",
      time: "27/Nov/2026:10:00:00 +0000",
      timeEpoch: 0,
    },
    ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
    isBase64Encoded: false,
  };
}

const context = {} as Context;
type UrlHandler = (event: APIGatewayProxyEventV2, context: Context) => Promise<APIGatewayProxyStructuredResultV2>;

describe("Lambda entries against a DynamoDB API server", () => {
  let moto: RunningMoto;
  let admin: string;
  let controlApi: UrlHandler;
  let agentApi: UrlHandler;
  let tick: (event: ScheduledEvent, context: Context) => Promise<{ reconciled: number; skipped: number }>;

  beforeAll(async () => {
    // Prepare: the environment infra/ gives the functions, a table, and the first admin token.
    moto = await startMoto();
    Object.assign(process.env, {
      INFERENCEKEY_TABLE: "inferencekey-test",
      INFERENCEKEY_SERVER_SECRET_PARAMETER: "/inferencekey/test/server-secret",
      INFERENCEKEY_DYNAMODB_ENDPOINT: moto.endpoint,
      AWS_ENDPOINT_URL_SSM: moto.endpoint,
      AWS_REGION: "us-east-1",
      AWS_ACCESS_KEY_ID: "local",
      AWS_SECRET_ACCESS_KEY: "local",
      POWERTOOLS_LOG_LEVEL: "SILENT",
      POWERTOOLS_METRICS_DISABLED: "true",
      POWERTOOLS_TRACE_ENABLED: "false",
    });
    await new SSMClient({}).send(
      new PutParameterCommand({ Name: "/inferencekey/test/server-secret", Type: "SecureString", Value: SERVER_SECRET, Overwrite: true }),
    );
    const client = createDynamoDocumentClient(dynamoClientOptionsFromConfig(awsConfigFromEnv()));
    await ensureTable(client, "inferencekey-test");
    const ctx = { store: new DynamoStore({ tableName: "inferencekey-test", client: sdkDynamoDocumentApi(client) }), serverSecret: SERVER_SECRET, now: () => new Date() };
    admin = (await bootstrapAdminToken(ctx))?.secret as string;
    // The control API's URL streams (infra/api.ts): invoked through the runtime model, read whole.
    installLambdaStreamingRuntime();
    const streamedControlApi = (await import("../control-api")).handler;
    controlApi = async (event) => {
      const answer = await invokeStreamed(streamedControlApi, event, { functionName: "control-api" });
      return { statusCode: answer.status, headers: answer.headers, body: answer.body.toString("utf8") };
    };
    agentApi = (await import("../agent-api")).handler as unknown as UrlHandler;
    tick = (await import("../controller-tick")).handler as unknown as typeof tick;
  }, 60_000);

  afterAll(async () => {
    await moto?.stop();
  });

  it("control API: ensure through a Function URL event, 401 without a token", async () => {
    const spec = { name: "Bot", slug: "bot", model: "m/m", backend: "vllm" };

    const created = await controlApi(functionUrlEvent("PUT", "/v1/projects/acme/workloads/bot", { token: admin, body: spec }), context);
    const anonymous = await controlApi(functionUrlEvent("GET", "/v1/projects"), context);

    expect(created.statusCode).toBe(201);
    expect(JSON.parse(created.body ?? "{}")).toMatchObject({ project_slug: "acme", workload_slug: "bot", generation: 1, changed: true });
    expect(anonymous.statusCode).toBe(401);
  });

  it("refuses a request that did not come through the Router (no or a wrong origin header) before the handler", async () => {
    const direct = await controlApi(functionUrlEvent("GET", "/v1/projects", { token: admin, origin: "" }), context);
    const forged = await controlApi(functionUrlEvent("GET", "/v1/projects", { token: admin, origin: originHeaderValue("another-server-secret") }), context);

    expect(direct.statusCode).toBe(403);
    expect(JSON.parse(direct.body ?? "{}").error.code).toBe("forbidden");
    expect(forged.statusCode).toBe(403);
  });

  it("controller tick: reconciles the workload; without cloud compute the placement waits with a reason", async () => {
    const result = await tick({} as ScheduledEvent, context);
    const workload = await controlApi(functionUrlEvent("GET", "/v1/projects/acme/workloads/bot", { token: admin }), context);

    expect(result).toEqual({ reconciled: 1, skipped: 0, dispatched: 0 });
    const events = (JSON.parse(workload.body ?? "{}") as { status: { events: { type: string; message: string }[] } }).status.events;
    expect(events.find((e) => e.type === "PlacementPending")?.message).toContain("no cloud compute is configured");
  });

  it("agent API: a registered worker's heartbeat is answered with its assignment", async () => {
    const registered = await controlApi(functionUrlEvent("POST", "/v1/projects/acme/workers", { token: admin, body: { name: "box" } }), context);
    const token = (JSON.parse(registered.body ?? "{}") as { token: string }).token;

    const beat = await agentApi(
      functionUrlEvent("POST", "/agent/v1/heartbeat", { token, body: { host: { hostname: "box", advertise_host: "127.0.0.1", gpus: [] }, replicas: [] } }),
      context,
    );

    expect(beat.statusCode).toBe(200);
    expect(JSON.parse(beat.body ?? "{}")).toMatchObject({ project: "acme", assignments: [] });
  });
});
