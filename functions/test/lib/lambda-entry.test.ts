import { PutParameterCommand, SSMClient } from "@aws-sdk/client-ssm";
import { ORIGIN_HEADER, originHeaderValue } from "@inferencekey/aws";
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { lambdaContext } from "../../../test/support/lambda-streaming";
import { type RunningMoto, startMoto } from "../../../test/support/moto";

/**
 * The middlewares every entry runs (functions/lib/lambda-entry.ts): what they write to stdout,
 * which CloudWatch reads as structured logs (JSON lines) and metrics (EMF), with the server secret
 * read from SSM on moto server.
 */
const SECRET = "entry-test-server-secret-0123456789";

function event(): APIGatewayProxyEventV2 {
  return {
    version: "2.0",
    routeKey: "$default",
    rawPath: "/v1/projects",
    rawQueryString: "",
    headers: { [ORIGIN_HEADER]: originHeaderValue(SECRET), authorization: "Bearer ik_sdk_secretvalue" },
    requestContext: {
      accountId: "123456789012",
      apiId: "x",
      domainName: "x.lambda-url.us-east-1.on.aws",
      domainPrefix: "x",
      http: { method: "GET", path: "/v1/projects", protocol: "HTTP/1.1", sourceIp: "127.0.0.1", userAgent: "test" },
      requestId: "r",
      routeKey: "$default",
      stage: "$default",
      time: "27/Nov/2026:10:00:00 +0000",
      timeEpoch: 0,
    },
    isBase64Encoded: false,
  };
}

describe("Lambda entry middlewares", () => {
  let moto: RunningMoto;

  beforeAll(async () => {
    moto = await startMoto();
    vi.stubEnv("INFERENCEKEY_SERVER_SECRET_PARAMETER", "/inferencekey/entry-test/server-secret");
    vi.stubEnv("AWS_ENDPOINT_URL_SSM", moto.endpoint);
    vi.stubEnv("AWS_REGION", "us-east-1");
    vi.stubEnv("AWS_ACCESS_KEY_ID", "local");
    vi.stubEnv("AWS_SECRET_ACCESS_KEY", "local");
    vi.stubEnv("POWERTOOLS_LOG_LEVEL", "INFO");
    // What Lambda sets for an instance started by a request: Powertools counts cold starts then.
    vi.stubEnv("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand");
    vi.stubEnv("POWERTOOLS_TRACE_ENABLED", "false");
    vi.stubEnv("POWERTOOLS_METRICS_NAMESPACE", "InferenceKey/test");
    await new SSMClient({}).send(new PutParameterCommand({ Name: "/inferencekey/entry-test/server-secret", Type: "SecureString", Value: SECRET, Overwrite: true }));
  }, 60_000);

  afterAll(async () => {
    vi.unstubAllEnvs();
    await moto?.stop();
  });

  it("logs one JSON line per request with both request ids and no header value, and emits request, 5xx and cold start metrics", async () => {
    const { entryTools, functionUrlEntry } = await import("../../lib/lambda-entry");
    const tools = entryTools("entry-test");
    const handler = functionUrlEntry<APIGatewayProxyStructuredResultV2>(tools).handler(async () => ({
      statusCode: 503,
      headers: { "x-request-id": "req_entrytest" },
      body: "{}",
    }));
    const written: string[] = [];
    const spies = [process.stdout, process.stderr].map((stream) =>
      vi.spyOn(stream, "write").mockImplementation((chunk: string | Uint8Array) => {
        written.push(String(chunk));
        return true;
      }),
    );

    const result = await handler(event(), lambdaContext("entry-test"));
    for (const spy of spies) spy.mockRestore();

    const lines = written.join("").split("\n").filter((line) => line.trim() !== "").map((line) => JSON.parse(line) as Record<string, unknown>);
    const request = lines.find((line) => line.message === "request");
    const metrics = lines.find((line) => line._aws !== undefined && line.Requests !== undefined) as { _aws: { CloudWatchMetrics: { Namespace: string; Metrics: { Name: string }[] }[] } } | undefined;
    const coldStart = lines.find((line) => (line as { ColdStart?: number }).ColdStart !== undefined);
    expect(result.statusCode).toBe(503);
    expect(request).toMatchObject({ level: "INFO", service: "entry-test", method: "GET", path: "/v1/projects", status: 503, request_id: "req_entrytest" });
    expect(request?.function_request_id).toMatch(/^local-/);
    expect(written.join("")).not.toContain("ik_sdk_secretvalue");
    expect(metrics?._aws.CloudWatchMetrics[0]?.Namespace).toBe("InferenceKey/test");
    expect(metrics?._aws.CloudWatchMetrics[0]?.Metrics.map((metric) => metric.Name).sort()).toEqual(["Requests", "ServerErrors"]);
    expect(coldStart).toMatchObject({ ColdStart: 1, function_name: "entry-test" });
    expect(request?.cold_start).toBe(true);
  });

  it("loads the X-Ray tracer only when the deployment turned tracing on", async () => {
    // Prepare
    vi.resetModules();
    const off = await import("../../lib/lambda-entry");
    vi.resetModules();
    vi.stubEnv("INFERENCEKEY_TRACING", "active");
    const active = await import("../../lib/lambda-entry");
    vi.stubEnv("INFERENCEKEY_TRACING", "");

    // Act
    const untraced = off.entryTools("entry-test");
    const traced = active.entryTools("entry-test");
    const handler = active.invokedEntry<unknown, string>(traced).handler(async () => "done");
    const quiet = [vi.spyOn(process.stdout, "write").mockImplementation(() => true), vi.spyOn(console, "warn").mockImplementation(() => undefined)];
    const result = await handler({}, lambdaContext("entry-test"));
    for (const spy of quiet) spy.mockRestore();

    // Assess
    expect(untraced.tracer).toBeUndefined();
    expect(traced.tracer?.constructor.name).toBe("Tracer");
    expect(result).toBe("done");
  });
});
