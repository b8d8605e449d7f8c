import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PutParameterCommand, SSMClient } from "@aws-sdk/client-ssm";
import { type AgentHandle, startAgent } from "@inferencekey/agent";
import {
  AWS_LIMITS,
  awsConfigFromEnv,
  createDynamoDocumentClient,
  DynamoStore,
  dynamoClientOptionsFromConfig,
  ensureTable,
  originHeaderValue,
  routerViewerRequestInjection,
  sdkDynamoDocumentApi,
} from "@inferencekey/aws";
import { bootstrapAdminToken, digestSecret, keys } from "@inferencekey/core";
import { DataClient, ManagementClient } from "@inferencekey/sdk";
import type { Context } from "aws-lambda";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { installLambdaStreamingRuntime, invokeStreaming, lambdaContext, type Prelude } from "../support/lambda-streaming";
import { type LocalRouter, startLocalRouter } from "../support/local-router";
import { type RunningMoto, startMoto } from "../support/moto";
import { REPO_ROOT } from "../support/platform-process";
import { waitFor } from "../support/processes";

/**
 * The deployed stack, emulated: the functions/* Lambda entries behind a local router that mirrors
 * the Router (its edge code, its routes, Function URL events, response streaming), the table and
 * the server secret parameter on moto, the controller invoked every second as the schedule would.
 * The README quickstart's steps run through the one base URL with the SDK; the workload is pinned
 * to a private worker whose agent heartbeats through the same URL (AWS compute is the EC2 issue).
 * The workload's command is the TEST DOUBLE test/replicas/openai-replica.mjs. The server secret
 * has been rotated once: version 1 still verifies what it digested.
 */
const SECRET_V1 = "emulated-stack-secret-version-1";
const SECRET_V2 = "emulated-stack-secret-version-2";
const TABLE = "inferencekey-emulated";
const PARAMETER = "/inferencekey/emulated/server-secret";

type Invoke<E, R> = (event: E, context: Context) => Promise<R>;

describe("the emulated AWS stack through one base URL", () => {
  let moto: RunningMoto;
  let router: LocalRouter;
  let agent: AgentHandle | undefined;
  let ticking: NodeJS.Timeout | undefined;
  /** The tick in flight, if any: awaited before moto stops, so it never fails on a closed endpoint after the suite. */
  let tickRunning: Promise<unknown> | undefined;
  let gatewayHandler: unknown;
  let adminToken: Invoke<{ reset?: boolean }, { admin_token: string | null; message?: string }>;
  let tokenOfVersion1: string;
  let admin: string;
  const stateDir = mkdtempSync(join(tmpdir(), "ik-emulated-"));

  beforeAll(async () => {
    moto = await startMoto();
    Object.assign(process.env, {
      INFERENCEKEY_TABLE: TABLE,
      INFERENCEKEY_SERVER_SECRET_PARAMETER: PARAMETER,
      INFERENCEKEY_DYNAMODB_ENDPOINT: moto.endpoint,
      AWS_ENDPOINT_URL_SSM: moto.endpoint,
      AWS_REGION: "us-east-1",
      AWS_ACCESS_KEY_ID: "local",
      AWS_SECRET_ACCESS_KEY: "local",
      POWERTOOLS_LOG_LEVEL: "SILENT",
      POWERTOOLS_METRICS_DISABLED: "true",
      POWERTOOLS_TRACE_ENABLED: "false",
      INFERENCEKEY_CONSOLE_DIR: join(REPO_ROOT, "packages/console/dist"),
    });
    const client = createDynamoDocumentClient(dynamoClientOptionsFromConfig(awsConfigFromEnv()));
    await ensureTable(client, TABLE);
    // Before rotation: the first admin token, digested under the only version there was.
    const beforeRotation = { store: new DynamoStore({ tableName: TABLE, client: sdkDynamoDocumentApi(client) }), serverSecret: SECRET_V1, now: () => new Date() };
    tokenOfVersion1 = (await bootstrapAdminToken(beforeRotation))?.secret as string;
    // Rotated: version 2 signs from now on, version 1 still verifies.
    await new SSMClient({}).send(new PutParameterCommand({ Name: PARAMETER, Type: "SecureString", Value: `2:${SECRET_V2},1:${SECRET_V1}`, Overwrite: true }));

    installLambdaStreamingRuntime();
    const [controlApi, agentApi, gateway, tick, admin] = await Promise.all([
      import("../../functions/control-api"),
      import("../../functions/agent-api"),
      import("../../functions/gateway"),
      import("../../functions/controller-tick"),
      import("../../functions/admin-token"),
    ]);
    adminToken = admin.handler as unknown as typeof adminToken;
    gatewayHandler = gateway.handler;
    router = await startLocalRouter({
      injection: routerViewerRequestInjection(originHeaderValue(SECRET_V2)),
      targets: { controlApi: controlApi.handler, agentApi: agentApi.handler, gateway: gateway.handler },
    });
    // EventBridge Scheduler's minute, compressed to a second; a tick still running is not doubled.
    ticking = setInterval(() => {
      if (tickRunning !== undefined) return;
      tickRunning = (tick.handler as unknown as Invoke<object, unknown>)({}, lambdaContext("controller")).finally(() => {
        tickRunning = undefined;
      });
    }, 1000);
  }, 60_000);

  afterAll(async () => {
    clearInterval(ticking);
    await tickRunning?.catch(() => undefined);
    await agent?.stop();
    await router?.close();
    await moto?.stop();
    rmSync(stateDir, { recursive: true, force: true });
  });

  it("a token digested before the rotation still works; the admin-token function hands out a replacement once asked", async () => {
    const projects = (token: string) => fetch(`${router.url}/v1/projects`, { headers: { authorization: `Bearer ${token}` } });
    const before = await projects(tokenOfVersion1);

    const again = await adminToken({}, lambdaContext("admin-token"));
    const reset = await adminToken({ reset: true }, lambdaContext("admin-token"));

    expect(before.status).toBe(200);
    expect(again.admin_token).toBeNull();
    expect(again.message).toMatch(/handed out already/);
    expect(reset.admin_token).toMatch(/^ik_sdk_/);
    // Digested under the current version (recorded in the digest), and the old token is revoked.
    const client = createDynamoDocumentClient(dynamoClientOptionsFromConfig(awsConfigFromEnv()));
    const store = new DynamoStore({ tableName: TABLE, client: sdkDynamoDocumentApi(client) });
    const stored = keys.secret(`v2.${digestSecret(SECRET_V2, reset.admin_token as string)}`);
    expect(await store.get(stored.pk, stored.sk)).toBeDefined();
    expect((await projects(tokenOfVersion1)).status).toBe(401);
    expect((await projects(reset.admin_token as string)).status).toBe(200);
    admin = reset.admin_token as string;
  });

  it("runs the quickstart through the base URL: ensure, a key, generateText and a stream from a replica on a private worker", async () => {
    const mgmt = new ManagementClient({ token: admin, baseUrl: router.url, project: "acme" });
    const worker = await mgmt.workers.register({ name: "gpu-box", addresses: ["127.0.0.1"] });
    agent = await startAgent({
      baseUrl: router.url,
      token: worker.token,
      stateDir: join(stateDir, "agent"),
      advertiseHost: "127.0.0.1",
      heartbeatIntervalMs: 500,
      gpus: [],
      cwd: REPO_ROOT,
    });

    const ref = await mgmt.ensure({
      name: "Support bot",
      slug: "support-bot",
      model: "meta-llama/Llama-3.1-8B-Instruct",
      backend: "vllm",
      taskType: "text2text",
      command: `${process.execPath} ${join(REPO_ROOT, "test/replicas/openai-replica.mjs")} serve meta-llama/Llama-3.1-8B-Instruct`,
      workerId: worker.id,
      executionPolicy: "fixed",
      executionPolicyConfig: { replicas: 1 },
    });
    const key = await mgmt.keys.create("support-bot", { name: "quickstart" });
    await waitFor("a ready replica", async () => (await mgmt.get("support-bot")).status.readyReplicas === 1 || undefined, 45_000);
    const ep = new DataClient({ baseUrl: router.url, project: "acme" }).endpoint("support-bot", { apiKey: key.key });
    const out = await ep.generateText({ prompt: "Hola", maxTokens: 50 });
    const stream = ep.streamText({ prompt: "Hola stream", maxTokens: 50 });
    let streamed = "";
    for await (const delta of stream) streamed += delta;

    expect([ref.projectSlug, ref.workloadSlug, ref.changed]).toEqual(["acme", "support-bot", true]);
    expect(key.key).toMatch(/^ik_live_/);
    expect(out.text).toContain("Hola");
    expect(streamed).toContain("stream");
  }, 90_000);

  it("serves the console from the control API function under /console/, with its security headers", async () => {
    const page = await fetch(`${router.url}/console/`);

    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toMatch(/^text\/html/);
    expect(page.headers.get("content-security-policy")).toContain("default-src 'none'");
  });

  it("the streaming gateway refuses a request that skipped the Router (its Function URL called directly) with 403", async () => {
    let prelude: Prelude | undefined;
    let body = "";
    const direct = {
      version: "2.0",
      routeKey: "$default",
      rawPath: "/endpoint/acme/support-bot/v1/models",
      rawQueryString: "",
      headers: { host: "gateway.lambda-url.us-east-1.on.aws", authorization: "Bearer ik_live_x" },
      requestContext: { http: { method: "GET", path: "/endpoint/acme/support-bot/v1/models" }, domainName: "gateway.lambda-url.us-east-1.on.aws" },
      isBase64Encoded: false,
    } as unknown as Parameters<typeof invokeStreaming>[1];

    await invokeStreaming(gatewayHandler as Parameters<typeof invokeStreaming>[0], direct, lambdaContext("gateway"), {
      head: (head) => {
        prelude = head;
      },
      chunk: (bytes) => {
        body += bytes.toString();
      },
      end: () => undefined,
    });

    expect(prelude?.statusCode).toBe(403);
    expect(JSON.parse(body).error.code).toBe("forbidden");
  });

  it("answers 413 at the edge for a body above Lambda's limit, with our error body", async () => {
    const response = await fetch(`${router.url}/endpoint/acme/support-bot/v1/audio/transcriptions`, {
      method: "POST",
      headers: { "content-type": "application/octet-stream" },
      body: new Uint8Array(AWS_LIMITS.maxRequestBodyBytes + 1),
    });

    expect(response.status).toBe(413);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe("payload_too_large");
  });
});
