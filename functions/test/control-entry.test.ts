import {
  AWS_LIMITS,
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
import type { APIGatewayProxyEventV2 } from "aws-lambda";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TestPlatform } from "../../packages/core/test/gateway/support";
import { provideServerSecret } from "../../test/support/lambda-secret";
import { installLambdaStreamingRuntime, invokeStreamed, type ModelInvoke } from "../../test/support/lambda-streaming";
import { type RunningMoto, startMoto } from "../../test/support/moto";

/**
 * The control API entry (functions/control-api.ts) in the response-streaming runtime model
 * (test/support/lambda-streaming.ts), its store on DynamoDB (moto server): a readiness event stream
 * reaches the client as it is written, stays open past the 25 s a buffered Function URL allowed, and
 * never goes quieter than the keep-alive interval (CloudFront ends an origin response silent for
 * 60 s). Real time: the stream runs 31 s, ended by the invocation's deadline less the close reserve.
 */
const SERVER_SECRET = "control-entry-secret-0123456789";
const TABLE = "inferencekey-control-entry";

function urlEvent(path: string, token: string): APIGatewayProxyEventV2 {
  return {
    version: "2.0",
    routeKey: "$default",
    rawPath: path,
    rawQueryString: "",
    headers: {
      host: "abc.lambda-url.us-east-1.on.aws",
      accept: "text/event-stream",
      authorization: `Bearer ${token}`,
      // What the Router adds to every request it forwards.
      [ORIGIN_HEADER]: originHeaderValue(SERVER_SECRET),
    },
    requestContext: {
      accountId: "123456789012",
      apiId: "abc",
      domainName: "abc.lambda-url.us-east-1.on.aws",
      domainPrefix: "abc",
      http: { method: "GET", path, protocol: "HTTP/1.1", sourceIp: "127.0.0.1", userAgent: "test" },
      requestId: "r",
      routeKey: "$default",
      stage: "$default",
      time: "02/Dec/2026:10:00:00 +0000",
      timeEpoch: 0,
    },
    isBase64Encoded: false,
  };
}

describe("Lambda control API entry in the response-streaming runtime model", () => {
  let moto: RunningMoto;
  let invoke: ModelInvoke<APIGatewayProxyEventV2>;
  let adminToken: string;

  beforeAll(async () => {
    moto = await startMoto();
    Object.assign(process.env, {
      INFERENCEKEY_TABLE: TABLE,
      INFERENCEKEY_DYNAMODB_ENDPOINT: moto.endpoint,
      AWS_REGION: "us-east-1",
      AWS_ACCESS_KEY_ID: "local",
      AWS_SECRET_ACCESS_KEY: "local",
    });
    await provideServerSecret(moto.endpoint, "/inferencekey/control-entry/server-secret", SERVER_SECRET);
    const client = createDynamoDocumentClient(dynamoClientOptionsFromConfig(awsConfigFromEnv()));
    await ensureTable(client, TABLE);
    const platform = new TestPlatform(() => new Date(), new DynamoStore({ tableName: TABLE, client: sdkDynamoDocumentApi(client) }), SERVER_SECRET);
    // A workload with no replica and no capacity: it is not ready during the test.
    await platform.workload("acme", { slug: "chat" });
    adminToken = (await bootstrapAdminToken(platform.ctx))?.secret as string;
    installLambdaStreamingRuntime();
    const entry = await import("../control-api");
    invoke = (event, options) => invokeStreamed(entry.handler, event, { ...options, functionName: "control-api" });
  }, 60_000);

  afterAll(async () => {
    await moto?.stop();
  });

  it("a plain request is answered with its status and headers through the stream", async () => {
    // Act
    const answer = await invoke(urlEvent("/v1/projects/acme/workloads/chat", adminToken));

    // Assess
    expect(answer.preludeSent).toBe(true);
    expect(answer.status).toBe(200);
    expect(answer.headers["x-request-id"]).toMatch(/^req_/);
    expect(JSON.parse(answer.body.toString()).slug).toBe("chat");
  });

  it("a readiness stream stays open past 25 s, live and never silent for a keep-alive interval, until the invocation's deadline", async () => {
    // Arrange: the deadline aborts the request 31 s in.
    const remainingTimeMs = 31_000 + AWS_LIMITS.controlApiCloseReserveMs;

    // Act
    const answer = await invoke(urlEvent("/v1/projects/acme/workloads/chat/readiness-events", adminToken), { remainingTimeMs });

    // Assess
    const text = answer.body.toString();
    const events = text
      .split("\n\n")
      .filter((block) => block.startsWith("data: "))
      .map((block) => JSON.parse(block.slice("data: ".length)) as { phase: string });
    const gaps = answer.chunkTimes.map((at, i) => at - (answer.chunkTimes[i - 1] ?? 0));
    expect(answer.status).toBe(200);
    expect(answer.headers["content-type"]).toMatch(/^text\/event-stream/);
    expect(events.length).toBeGreaterThan(0);
    expect(events.every((event) => event.phase !== "ready")).toBe(true);
    expect(text).toContain(": keep-alive");
    // The first event arrived at once (live, not at the end), the last bytes after 25 s.
    expect(answer.chunkTimes[0]).toBeLessThan(10_000);
    expect(answer.chunkTimes.at(-1)).toBeGreaterThan(25_000);
    // A keep-alive every 15 s (a poll and a store read late on this shared machine), far inside CloudFront's 60 s.
    expect(Math.max(...gaps)).toBeLessThan(AWS_LIMITS.sseKeepAliveMs + 5_000);
    expect(Math.max(...gaps)).toBeLessThan(AWS_LIMITS.originReadTimeoutSeconds * 1000);
    expect(answer.durationMs).toBeGreaterThan(30_000);
    expect(answer.durationMs).toBeLessThan(remainingTimeMs);
  }, 60_000);
});
