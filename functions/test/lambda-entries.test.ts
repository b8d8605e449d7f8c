import { awsConfigFromEnv, createDynamoDocumentClient, DynamoStore, dynamoClientOptionsFromConfig, ensureTable } from "@inferencekey/aws";
import { bootstrapAdminToken } from "@inferencekey/core";
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context, ScheduledEvent } from "aws-lambda";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningMoto, startMoto } from "../../test/support/moto";

/**
 * The Lambda entries, invoked as Lambda would (Function URL events, an EventBridge event), against a
 * DynamoDB API server (moto server, the shared AWS emulator: the controller's writes are
 * transactions, which dynalite lacks) with the table infra/storage.ts defines.
 */
function functionUrlEvent(method: string, path: string, options: { token?: string; body?: unknown } = {}): APIGatewayProxyEventV2 {
  return {
    version: "2.0",
    routeKey: "$default",
    rawPath: path,
    rawQueryString: "",
    headers: {
      host: "abc.lambda-url.us-east-1.on.aws",
      "content-type": "application/json",
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
      INFERENCEKEY_SERVER_SECRET: "test-server-secret",
      INFERENCEKEY_DYNAMODB_ENDPOINT: moto.endpoint,
      AWS_REGION: "us-east-1",
      AWS_ACCESS_KEY_ID: "local",
      AWS_SECRET_ACCESS_KEY: "local",
    });
    const client = createDynamoDocumentClient(dynamoClientOptionsFromConfig(awsConfigFromEnv()));
    await ensureTable(client, "inferencekey-test");
    const ctx = { store: new DynamoStore({ tableName: "inferencekey-test", client }), serverSecret: "test-server-secret", now: () => new Date() };
    admin = (await bootstrapAdminToken(ctx))?.secret as string;
    controlApi = (await import("../control-api")).handler as unknown as UrlHandler;
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
