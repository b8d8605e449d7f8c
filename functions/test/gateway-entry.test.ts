import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
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
import { readUsage } from "@inferencekey/core";
import type { APIGatewayProxyEventV2 } from "aws-lambda";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TestPlatform } from "../../packages/core/test/gateway/support";
import { installLambdaStreamingRuntime, invokeStreamed, type ModelInvoke } from "../../test/support/lambda-streaming";
import { provideServerSecret } from "../../test/support/lambda-secret";
import { type RunningMoto, startMoto } from "../../test/support/moto";

/**
 * The Lambda gateway entry (functions/gateway.ts) loaded into a model of the Node.js runtime's
 * response streaming (test/support/lambda-streaming.ts), its store on DynamoDB (moto server), its
 * replica a small HTTP server that answers as the case asks: 204, a short stream, or a stream that
 * never ends.
 */
const SERVER_SECRET = "entry-server-secret-0123456789";

function urlEvent(path: string, token: string, body: unknown): APIGatewayProxyEventV2 {
  return {
    version: "2.0",
    routeKey: "$default",
    rawPath: path,
    rawQueryString: "",
    headers: {
      host: "abc.lambda-url.us-east-1.on.aws",
      "content-type": "application/json",
      authorization: `Bearer ${token}`,
      // What the Router adds to every request it forwards.
      [ORIGIN_HEADER]: originHeaderValue(SERVER_SECRET),
    },
    requestContext: {
      accountId: "123456789012",
      apiId: "abc",
      domainName: "abc.lambda-url.us-east-1.on.aws",
      domainPrefix: "abc",
      http: { method: "POST", path, protocol: "HTTP/1.1", sourceIp: "127.0.0.1", userAgent: "test" },
      requestId: "r",
      routeKey: "$default",
      stage: "$default",
      time: "02/Dec/2026:10:00:00 +0000",
      timeEpoch: 0,
    },
    body: JSON.stringify(body),
    isBase64Encoded: false,
  };
}

/** How the replica's connections of endless streams ended: ms from the first byte to the close. */
const endlessClosedAfterMs: number[] = [];

function replicaServer(): Server {
  return createServer((req: IncomingMessage, res) => {
    let text = "";
    req.on("data", (chunk: Buffer) => {
      text += chunk.toString();
    });
    req.on("end", () => {
      const content = (JSON.parse(text) as { messages: { content: string }[] }).messages[0]?.content;
      if (content === "empty") {
        res.writeHead(204, { "x-replica-said": "nothing" });
        res.end();
        return;
      }
      res.writeHead(200, { "content-type": "text/event-stream" });
      if (content === "short") {
        res.write('data: {"choices":[{"delta":{"content":"a"}}]}\n\n');
        res.end('data: {"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":1}}\n\ndata: [DONE]\n\n');
        return;
      }
      const started = performance.now();
      const timer = setInterval(() => res.write('data: {"choices":[{"delta":{"content":"x"}}]}\n\n'), 100);
      res.on("close", () => {
        clearInterval(timer);
        endlessClosedAfterMs.push(performance.now() - started);
      });
    });
  });
}

describe("Lambda gateway entry in the response-streaming runtime model", () => {
  let moto: RunningMoto;
  let replica: Server;
  let platform: TestPlatform;
  let invoke: ModelInvoke<APIGatewayProxyEventV2>;
  let settleReserveMs: number;
  let limitedKey: string;
  let openKey: string;
  const chatPath = "/endpoint/acme/chat/v1/chat/completions";
  const chat = (content: string) => ({ model: "m", stream: content !== "empty", messages: [{ role: "user", content }] });

  beforeAll(async () => {
    moto = await startMoto();
    Object.assign(process.env, {
      INFERENCEKEY_TABLE: "inferencekey-gateway-entry",
      INFERENCEKEY_DYNAMODB_ENDPOINT: moto.endpoint,
      AWS_REGION: "us-east-1",
      AWS_ACCESS_KEY_ID: "local",
      AWS_SECRET_ACCESS_KEY: "local",
    });
    await provideServerSecret(moto.endpoint, "/inferencekey/gateway-entry/server-secret", SERVER_SECRET);
    const client = createDynamoDocumentClient(dynamoClientOptionsFromConfig(awsConfigFromEnv()));
    await ensureTable(client, "inferencekey-gateway-entry");
    platform = new TestPlatform(() => new Date(), new DynamoStore({ tableName: "inferencekey-gateway-entry", client: sdkDynamoDocumentApi(client) }), SERVER_SECRET);
    replica = replicaServer();
    await new Promise<void>((listening) => replica.listen(0, "127.0.0.1", listening));
    await platform.workload("acme", { slug: "chat" });
    await platform.replica("acme", "chat", { port: (replica.address() as AddressInfo).port });
    limitedKey = (await platform.key("acme", "chat", { max_concurrent_requests: 1 })).secret;
    openKey = (await platform.key("acme", "chat")).secret;
    installLambdaStreamingRuntime();
    const entry = await import("../gateway");
    invoke = (event, options) => invokeStreamed(entry.handler, event, { ...options, functionName: "gateway" });
    settleReserveMs = entry.SETTLE_RESERVE_MS;
  }, 60_000);

  afterAll(async () => {
    replica?.closeAllConnections();
    await new Promise((closed) => replica?.close(closed));
    await moto?.stop();
  });

  it("an answer without a body (204) still reaches the client with its status and headers", async () => {
    // Act
    const answer = await invoke(urlEvent(chatPath, openKey, chat("empty")));

    // Assess
    expect(answer.preludeSent).toBe(true);
    expect(answer.status).toBe(204);
    expect(answer.headers["x-replica-said"]).toBe("nothing");
    expect(answer.headers["x-request-id"]).toMatch(/^req_/);
    expect(answer.body.byteLength).toBe(0);
  });

  it("a stream passes through chunk by chunk, and its usage is in the store when the invocation ends", async () => {
    // Act
    const answer = await invoke(urlEvent(chatPath, openKey, chat("short")));
    const usage = await readUsage(platform.ctx, "acme", "chat", { from: new Date(Date.now() - 120_000), to: new Date(Date.now() + 60_000) });

    // Assess: no explicit flush: the entry wrote usage before returning.
    expect(answer.status).toBe(200);
    expect(answer.headers["content-type"]).toBe("text/event-stream");
    expect(answer.body.toString()).toContain("data: [DONE]");
    expect(usage.totals.prompt_tokens).toBeGreaterThanOrEqual(3);
  });

  it("a stream whose client left (Lambda does not say) is cut at the invocation's deadline less the settle reserve, upstream closed, usage and lease written", async () => {
    // Prepare: an endless stream in an invocation with 1.5 s left past the reserve, holding the key's one slot.
    const closedBefore = endlessClosedAfterMs.length;
    const endless = invoke(urlEvent(chatPath, limitedKey, chat("endless")), { remainingTimeMs: settleReserveMs + 1500 });
    await new Promise((r) => setTimeout(r, 500));

    // Act
    const refused = await invoke(urlEvent(chatPath, limitedKey, chat("short")));
    const cut = await endless;
    const admittedAfter = await invoke(urlEvent(chatPath, limitedKey, chat("short")));
    const usage = await readUsage(platform.ctx, "acme", "chat", { from: new Date(Date.now() - 120_000), to: new Date(Date.now() + 60_000) });

    // Assess
    expect(refused.status).toBe(429);
    expect(refused.headers["retry-after"]).toBe("1");
    expect(JSON.parse(refused.body.toString()).error.code).toBe("concurrency_limit_exceeded");
    expect(cut.status).toBe(200);
    expect(cut.durationMs).toBeGreaterThan(1400);
    expect(cut.durationMs).toBeLessThan(4000);
    expect(endlessClosedAfterMs.length).toBe(closedBefore + 1);
    expect(endlessClosedAfterMs.at(-1)).toBeLessThan(3000);
    expect(usage.totals.cancelled).toBeGreaterThanOrEqual(1);
    expect(admittedAfter.status).toBe(200);
  });
});
