import http from "node:http";
import net from "node:net";
import { Sha256Js } from "@smithy/core/checksum";
import { SignatureV4 } from "@smithy/signature-v4";
import { afterEach, describe, expect, it, vi } from "vitest";
import { AwsJsonClient, type AwsJsonClientOptions, AwsServiceError } from "../src/aws-json-client";
import { closedPort, type LoopbackAws, type ReceivedCall, startLoopbackAws } from "./support/loopback-aws";

/**
 * AwsJsonClient against a fake AWS endpoint on loopback: what it sends, how it reads answers and
 * errors, when it retries and gives up, and where it sends its calls.
 */

const NOW = new Date("2030-03-04T05:06:07.000Z");
const CREDENTIALS = { accessKeyId: "AKIDTEST", secretAccessKey: "secret/key+test" };

let server: LoopbackAws | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
  vi.restoreAllMocks();
});

/** A client for the loopback server with nothing read from the process environment. */
const clientFor = (endpoint: string, options: Partial<AwsJsonClientOptions> = {}) =>
  new AwsJsonClient({
    service: "dynamodb",
    region: "us-east-1",
    endpoint,
    credentials: CREDENTIALS,
    env: {},
    now: () => NOW,
    sleep: async () => {},
    ...options,
  });

const rejection = async (promise: Promise<unknown>): Promise<AwsServiceError> => {
  const error = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(AwsServiceError);
  return error as AwsServiceError;
};

/** The SDK's signature over the headers the request says it signed, as AWS would check it. */
async function sdkAuthorizationFor(
  call: ReceivedCall,
  scope: { region: string; service: string },
  credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string },
): Promise<string | undefined> {
  const signedNames = /SignedHeaders=([^,]+)/.exec(String(call.headers.authorization))?.[1]?.split(";") ?? [];
  const headers = Object.fromEntries(signedNames.map((name) => [name, String(call.headers[name])]));
  const { "x-amz-date": _date, "x-amz-security-token": _token, ...toSign } = headers;
  const stamp = String(call.headers["x-amz-date"]);
  const signingDate = new Date(
    `${stamp.slice(0, 4)}-${stamp.slice(4, 6)}-${stamp.slice(6, 8)}T${stamp.slice(9, 11)}:${stamp.slice(11, 13)}:${stamp.slice(13, 15)}Z`,
  );
  const signed = await new SignatureV4({ credentials, ...scope, sha256: Sha256Js, applyChecksum: false }).sign(
    {
      method: call.method,
      protocol: "http:",
      hostname: "127.0.0.1",
      path: call.url,
      query: {},
      headers: toSign,
      body: call.body,
    },
    { signingDate },
  );
  return signed.headers.authorization;
}

describe("AwsJsonClient: the request it sends", () => {
  it.each([
    ["dynamodb", "application/x-amz-json-1.0", "DynamoDB_20120810.GetItem", "dynamodb"],
    ["ssm", "application/x-amz-json-1.1", "AmazonSSM.GetItem", "ssm"],
    ["sqs", "application/x-amz-json-1.0", "AmazonSQS.GetItem", "sqs"],
    ["events", "application/x-amz-json-1.1", "AWSEvents.GetItem", "events"],
  ] as const)("%s: a signed POST to / with content type %s and target %s", async (service, contentType, target, signingName) => {
    // Prepare
    server = await startLoopbackAws();
    const input = { TableName: "t", Key: { pk: { S: "é 🔑" } } };

    // Act
    await clientFor(server.endpoint, { service, region: "eu-central-1" }).call("GetItem", input);

    // Assess
    const [call] = server.calls;
    expect(call).toMatchObject({ method: "POST", url: "/", body: JSON.stringify(input) });
    expect(call?.headers).toMatchObject({
      "content-type": contentType,
      "x-amz-target": target,
      "x-amz-date": "20300304T050607Z",
      "content-length": String(Buffer.byteLength(JSON.stringify(input))),
      "amz-sdk-request": "attempt=1; max=3",
    });
    expect(call?.headers.authorization).toContain(
      `Credential=AKIDTEST/20300304/eu-central-1/${signingName}/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-target,`,
    );
    expect(call?.headers.authorization).toBe(
      await sdkAuthorizationFor(call as ReceivedCall, { region: "eu-central-1", service: signingName }, CREDENTIALS),
    );
  });

  it("sends the environment's session token as x-amz-security-token, and signs it", async () => {
    // Prepare
    server = await startLoopbackAws();
    const env = {
      AWS_REGION: "us-west-2",
      AWS_ACCESS_KEY_ID: "ASIAENV",
      AWS_SECRET_ACCESS_KEY: "env-secret",
      AWS_SESSION_TOKEN: "FwoGZXIvYXdzEJr//token==",
      AWS_ENDPOINT_URL_DYNAMODB: server.endpoint,
    };

    // Act
    await new AwsJsonClient({ service: "dynamodb", env, now: () => NOW }).call("GetItem", {});

    // Assess
    const [call] = server.calls;
    expect(call?.headers["x-amz-security-token"]).toBe("FwoGZXIvYXdzEJr//token==");
    expect(call?.headers.authorization).toContain("SignedHeaders=content-type;host;x-amz-date;x-amz-security-token;x-amz-target,");
    expect(call?.headers.authorization).toBe(
      await sdkAuthorizationFor(call as ReceivedCall, { region: "us-west-2", service: "dynamodb" }, {
        accessKeyId: "ASIAENV",
        secretAccessKey: "env-secret",
        sessionToken: "FwoGZXIvYXdzEJr//token==",
      }),
    );
  });

  it("sends no session token header when there is none", async () => {
    // Prepare
    server = await startLoopbackAws();

    // Act
    await clientFor(server.endpoint).call("GetItem", {});

    // Assess
    expect(server.calls[0]?.headers).not.toHaveProperty("x-amz-security-token");
  });

  it("keeps the connection alive between calls", async () => {
    // Prepare
    server = await startLoopbackAws();
    const client = clientFor(server.endpoint);

    // Act
    await client.call("GetItem", {});
    await client.call("GetItem", {});
    await client.call("GetItem", {});

    // Assess
    expect(server.calls).toHaveLength(3);
    expect(server.connections()).toBe(1);
  });
});

describe("AwsJsonClient: answers", () => {
  it("returns the parsed JSON of a successful answer", async () => {
    // Prepare
    server = await startLoopbackAws(() => ({ body: { Item: { pk: { S: "p" } }, ConsumedCapacity: null } }));

    // Act
    const output = await clientFor(server.endpoint).call("GetItem", {});

    // Assess
    expect(output).toEqual({ Item: { pk: { S: "p" } }, ConsumedCapacity: null });
  });

  it("returns {} for a successful answer with an empty body", async () => {
    // Prepare
    server = await startLoopbackAws(() => ({ status: 200, body: "" }));

    // Act
    const output = await clientFor(server.endpoint).call("DeleteItem", {});

    // Assess
    expect(output).toEqual({});
  });

  it("fails on a successful status whose body is not JSON rather than return garbage", async () => {
    // Prepare
    server = await startLoopbackAws(() => ({ status: 200, body: "<html>proxy</html>" }));

    // Act
    const error = await rejection(clientFor(server.endpoint).call("GetItem", {}));

    // Assess
    expect(error.$metadata.httpStatusCode).toBe(200);
  });

  it.each([
    [
      "__type with a namespace",
      { status: 400, body: { __type: "com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException", message: "The conditional request failed" } },
      "ConditionalCheckFailedException",
      "The conditional request failed",
    ],
    [
      "__type with a :suffix",
      { status: 400, body: { __type: "ValidationException:http://internal.amazon.com/coral/com.amazon.coral.validate/", Message: "bad key" } },
      "ValidationException",
      "bad key",
    ],
    [
      "__type with a namespace and a :suffix",
      { status: 400, body: { __type: "com.amazon.coral.service#UnrecognizedClientException:http://x/", message: "who?" } },
      "UnrecognizedClientException",
      "who?",
    ],
    [
      "the x-amzn-errortype header",
      {
        status: 400,
        headers: { "x-amzn-errortype": "AccessDeniedException:http://internal.amazon.com/coral/com.amazon.coral.service/" },
        body: { Message: "not allowed" },
      },
      "AccessDeniedException",
      "not allowed",
    ],
    ["no type at all (4xx)", { status: 413, body: "" }, "Http413", "dynamodb PutItem answered HTTP 413"],
    ["no type at all (5xx)", { status: 502, body: "<html>bad gateway</html>" }, "InternalServerError", "dynamodb PutItem answered HTTP 502"],
  ])("names an error from %s", async (_label, reply, name, message) => {
    // Prepare
    server = await startLoopbackAws(() => reply);

    // Act
    const error = await rejection(clientFor(server.endpoint, { maxAttempts: 1 }).call("PutItem", {}));

    // Assess
    expect({ name: error.name, message: error.message, status: error.$metadata.httpStatusCode }).toEqual({
      name,
      message,
      status: reply.status,
    });
  });

  it("puts the status, request id, attempts and fault on the error", async () => {
    // Prepare
    server = await startLoopbackAws(() => ({
      status: 400,
      headers: { "x-amzn-requestid": "REQ123" },
      body: { __type: "com.amazonaws.dynamodb.v20120810#ResourceNotFoundException", message: "no table" },
    }));

    // Act
    const error = await rejection(clientFor(server.endpoint).call("GetItem", {}));

    // Assess
    expect(error.$metadata).toEqual({ httpStatusCode: 400, requestId: "REQ123", attempts: 1 });
    expect(error.$fault).toBe("client");
    expect(error.$retryable).toBe(false);
  });

  it("copies the body's fields onto the error without letting them replace its own", async () => {
    // Prepare
    const item = { pk: { S: "p" }, version: { N: "3" } };
    const reasons = [{ Code: "None" }, { Code: "ConditionalCheckFailed", Item: item, Message: "failed" }];
    server = await startLoopbackAws(() => ({
      status: 400,
      body: {
        __type: "com.amazonaws.dynamodb.v20120810#TransactionCanceledException",
        message: "Transaction cancelled",
        Item: item,
        CancellationReasons: reasons,
        name: "NotTheName",
        stack: "not the stack",
        $metadata: { attempts: 99 },
        $retryable: true,
        $fault: "server",
      },
    }));

    // Act
    const error = await rejection(clientFor(server.endpoint).call("TransactWriteItems", {}));

    // Assess
    expect(error.Item).toEqual(item);
    expect(error.CancellationReasons).toEqual(reasons);
    expect(error.name).toBe("TransactionCanceledException");
    expect(error.message).toBe("Transaction cancelled");
    expect(error.stack).not.toBe("not the stack");
    expect(error.$metadata).toEqual({ httpStatusCode: 400, attempts: 1 });
    expect(error.$retryable).toBe(false);
    expect(error.$fault).toBe("client");
    expect(error).not.toHaveProperty("__type");
  });

  // JSON.parse makes "__proto__" an own field; copying it with `this[key] = value` replaces the
  // error's prototype, so it is no longer an AwsServiceError (nor an Error) and is not retried.
  it("stays an AwsServiceError whatever fields the body has", async () => {
    // Prepare
    server = await startLoopbackAws(() => ({
      status: 503,
      body: '{"__type":"ServiceUnavailable","message":"busy","__proto__":{"polluted":true}}',
    }));
    const sleep = vi.fn(async () => {});

    // Act
    const error: unknown = await clientFor(server.endpoint, { sleep }).call("GetItem", {}).catch((reason: unknown) => reason);

    // Assess
    expect(error).toBeInstanceOf(AwsServiceError);
    expect(server.calls).toHaveLength(3);
  });
});

describe("AwsJsonClient: retries", () => {
  it.each([
    ["HTTP 500 without a type", { status: 500, body: "" }, 100],
    ["HTTP 503 ServiceUnavailable", { status: 503, body: { __type: "ServiceUnavailable" } }, 100],
    ["HTTP 500 InternalServerError", { status: 500, body: { __type: "com.amazonaws.dynamodb.v20120810#InternalServerError" } }, 100],
    [
      "ThrottlingException",
      { status: 400, body: { __type: "com.amazon.coral.availability#ThrottlingException", message: "Rate exceeded" } },
      500,
    ],
    [
      "ProvisionedThroughputExceededException",
      { status: 400, body: { __type: "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException" } },
      500,
    ],
  ])("retries %s up to maxAttempts, with growing jittered waits", async (_label, reply, base) => {
    // Prepare
    server = await startLoopbackAws(() => reply);
    vi.spyOn(Math, "random").mockReturnValue(0.5);
    const sleep = vi.fn(async (_ms: number) => {});

    // Act
    const error = await rejection(clientFor(server.endpoint, { maxAttempts: 4, sleep }).call("GetItem", {}));

    // Assess
    expect(server.calls.map((call) => call.headers["amz-sdk-request"])).toEqual([
      "attempt=1; max=4",
      "attempt=2; max=4",
      "attempt=3; max=4",
      "attempt=4; max=4",
    ]);
    expect(sleep.mock.calls.map(([ms]) => ms)).toEqual([0.5 * base, 0.5 * 2 * base, 0.5 * 4 * base]);
    expect(error.$metadata.attempts).toBe(4);
    expect(error.$retryable).toBe(true);
  });

  it("never waits longer than 20 s between tries", async () => {
    // Prepare
    server = await startLoopbackAws(() => ({ status: 400, body: { __type: "ThrottlingException" } }));
    vi.spyOn(Math, "random").mockReturnValue(0.999);
    const sleep = vi.fn(async (_ms: number) => {});

    // Act
    await rejection(clientFor(server.endpoint, { maxAttempts: 10, sleep }).call("GetItem", {}));

    // Assess
    expect(Math.max(...sleep.mock.calls.map(([ms]) => ms))).toBeLessThanOrEqual(20_000);
    expect(sleep).toHaveBeenCalledTimes(9);
  });

  it("returns the answer of a retry that succeeds", async () => {
    // Prepare
    server = await startLoopbackAws((_call, index) =>
      index === 0 ? { status: 503, body: "" } : { body: { Item: { pk: { S: "p" } } } },
    );

    // Act
    const output = await clientFor(server.endpoint).call("GetItem", {});

    // Assess
    expect(output).toEqual({ Item: { pk: { S: "p" } } });
    expect(server.calls).toHaveLength(2);
    expect(server.calls[1]?.body).toBe(server.calls[0]?.body);
  });

  // The SDK's retry middleware treats any 429 as throttling (isThrottlingError); here a 429 without
  // a known code becomes "Http429" and is thrown at once. AWS's JSON services answer throttling
  // with 400 and a code, so only a proxy or an emulator sends a bare 429: the lead decides.
  it("retries an HTTP 429 without a known code as throttling, as the SDK does", async () => {
    // Prepare
    server = await startLoopbackAws(() => ({ status: 429, body: "" }));
    const sleep = vi.fn(async (_ms: number) => {});

    // Act
    await rejection(clientFor(server.endpoint, { sleep }).call("GetItem", {}));

    // Assess
    expect(server.calls).toHaveLength(3);
  });

  // The SDK sets amz-sdk-invocation-id once per call and keeps it on every try (only
  // amz-sdk-request counts the attempts), so AWS can tie the tries together; here each try has
  // its own. Nothing depends on it functionally: the lead decides.
  it("keeps one amz-sdk-invocation-id on every try of a call, and a new one for the next call", async () => {
    // Prepare
    server = await startLoopbackAws((_call, index) => (index === 0 ? { status: 503, body: "" } : { body: {} }));
    const client = clientFor(server.endpoint);

    // Act
    await client.call("GetItem", {});
    await client.call("GetItem", {});

    // Assess
    const [first, retry, next] = server.calls.map((call) => call.headers["amz-sdk-invocation-id"]);
    expect(first).toMatch(/^[0-9a-f-]{36}$/);
    expect(retry).toBe(first);
    expect(next).not.toBe(first);
  });

  it("does not retry a ConditionalCheckFailedException", async () => {
    // Prepare
    server = await startLoopbackAws(() => ({
      status: 400,
      body: { __type: "com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException", message: "failed" },
    }));
    const sleep = vi.fn(async () => {});

    // Act
    const error = await rejection(clientFor(server.endpoint, { sleep }).call("PutItem", {}));

    // Assess
    expect(error.name).toBe("ConditionalCheckFailedException");
    expect(server.calls).toHaveLength(1);
    expect(sleep).not.toHaveBeenCalled();
  });

  it("retries a refused connection, then fails with its code", async () => {
    // Prepare
    const port = await closedPort();
    const sleep = vi.fn(async () => {});

    // Act
    const error = await rejection(clientFor(`http://127.0.0.1:${port}`, { sleep }).call("GetItem", {}));

    // Assess
    expect(error.name).toBe("ECONNREFUSED");
    expect(error.$retryable).toBe(true);
    expect(error.$metadata.attempts).toBe(3);
    expect(sleep).toHaveBeenCalledTimes(2);
  });

  it("fails with TimeoutError when the server never answers, after about requestTimeoutMs per try", async () => {
    // Prepare
    server = await startLoopbackAws(() => "never");
    const started = performance.now();

    // Act
    const error = await rejection(
      clientFor(server.endpoint, { requestTimeoutMs: 150, maxAttempts: 2 }).call("GetItem", {}),
    );

    // Assess
    const elapsed = performance.now() - started;
    expect(error.name).toBe("TimeoutError");
    expect(error.message).toContain("no answer within 150 ms");
    expect(error.$metadata.attempts).toBe(2);
    expect(server.calls).toHaveLength(2);
    expect(elapsed).toBeGreaterThanOrEqual(280);
    expect(elapsed).toBeLessThan(1_500);
  });

  it("fails with TimeoutError when an answer stops halfway: the timeout covers the whole answer", async () => {
    // Prepare
    server = await startLoopbackAws(() => ({ body: { Item: { pk: { S: "p".repeat(1000) } } }, halfway: "stall" }));
    const started = performance.now();

    // Act
    const error = await rejection(
      clientFor(server.endpoint, { requestTimeoutMs: 150, maxAttempts: 1 }).call("GetItem", {}),
    );

    // Assess
    expect(error.name).toBe("TimeoutError");
    expect(performance.now() - started).toBeLessThan(1_500);
  });

  it.each([
    ["dropped before the answer", "drop" as const],
    ["cut off halfway through the answer", { body: { Item: { pk: { S: "p".repeat(1000) } } }, halfway: "drop" as const }],
  ])("retries a connection %s", async (_label, firstAnswer) => {
    // Prepare
    server = await startLoopbackAws((_call, index) => (index === 0 ? firstAnswer : { body: { Item: { pk: { S: "p" } } } }));
    const started = performance.now();

    // Act
    const output = await clientFor(server.endpoint, { requestTimeoutMs: 2_000 }).call("GetItem", {});

    // Assess
    expect(output).toEqual({ Item: { pk: { S: "p" } } });
    expect(server.calls).toHaveLength(2);
    expect(performance.now() - started).toBeLessThan(1_000);
  });

  it("fails with TimeoutError when no connection is made within connectTimeoutMs", async () => {
    // Prepare: every new socket waits forever for its address, so it never connects.
    const createConnection = http.Agent.prototype.createConnection;
    vi.spyOn(http.Agent.prototype, "createConnection").mockImplementation(function (
      this: http.Agent,
      options: net.NetConnectOpts,
    ) {
      return net.createConnection({ ...options, lookup: () => {} } as net.NetConnectOpts);
    } as typeof createConnection);
    const started = performance.now();

    // Act
    const error = await rejection(
      clientFor("http://connect-never.invalid:9", {
        connectTimeoutMs: 120,
        requestTimeoutMs: 5_000,
        maxAttempts: 1,
      }).call("GetItem", {}),
    );

    // Assess
    const elapsed = performance.now() - started;
    expect(error.name).toBe("TimeoutError");
    expect(error.message).toContain("no connection to connect-never.invalid:9 within 120 ms");
    expect(error.$retryable).toBe(true);
    expect(elapsed).toBeGreaterThanOrEqual(100);
    expect(elapsed).toBeLessThan(1_500);
  });

  it("refuses an answer over 20 MiB, and reads one of exactly 20 MiB", async () => {
    // Prepare
    const limit = 20 * 1024 * 1024;
    const jsonOfSize = (size: number) => `{"a":"${"x".repeat(size - 8)}"}`;
    server = await startLoopbackAws((call) => ({ body: jsonOfSize(JSON.parse(call.body).size) }));
    const sleep = vi.fn(async () => {});
    const client = clientFor(server.endpoint, { sleep });

    // Act
    const error = await rejection(client.call("GetItem", { size: limit + 1 }));
    const atLimit = await client.call<{ a: string }>("GetItem", { size: limit });

    // Assess
    expect(error.name).toBe("ResponseTooLarge");
    expect(sleep).not.toHaveBeenCalled();
    expect(atLimit.a).toHaveLength(limit - 8);
  });
});

describe("AwsJsonClient: configuration", () => {
  it.each([
    [
      "the endpoint option first",
      { endpoint: "http://option:1" },
      { AWS_ENDPOINT_URL_DYNAMODB: "http://service-env:2", AWS_ENDPOINT_URL: "http://global-env:3" },
      "http://option:1/",
    ],
    [
      "AWS_ENDPOINT_URL_DYNAMODB next",
      {},
      { AWS_ENDPOINT_URL_DYNAMODB: "http://service-env:2", AWS_ENDPOINT_URL: "http://global-env:3" },
      "http://service-env:2/",
    ],
    [
      "AWS_ENDPOINT_URL then",
      {},
      { AWS_ENDPOINT_URL_SSM: "http://other-service:4", AWS_ENDPOINT_URL: "http://global-env:3" },
      "http://global-env:3/",
    ],
    ["the regional endpoint last", {}, { AWS_ENDPOINT_URL_DYNAMODB: "  " }, "https://dynamodb.eu-west-1.amazonaws.com/"],
  ])("sends calls to %s", (_label, options, env, expected) => {
    // Prepare
    const client = new AwsJsonClient({ service: "dynamodb", env: { AWS_REGION: "eu-west-1", ...env }, ...options });

    // Act
    const { endpoint } = client.target;

    // Assess
    expect(endpoint.href).toBe(expected);
  });

  it.each([
    ["ssm", "AWS_ENDPOINT_URL_SSM"],
    ["sqs", "AWS_ENDPOINT_URL_SQS"],
    ["events", "AWS_ENDPOINT_URL_EVENTBRIDGE"],
  ] as const)("reads %s's endpoint from %s", (service, name) => {
    // Act
    const { endpoint } = new AwsJsonClient({ service, env: { AWS_REGION: "us-east-1", [name]: "http://emulator:4566" } }).target;

    // Assess
    expect(endpoint.href).toBe("http://emulator:4566/");
  });

  it("uses the China partition's domain for a cn- region", () => {
    // Act
    const { endpoint } = new AwsJsonClient({ service: "ssm", env: { AWS_REGION: "cn-north-1" } }).target;

    // Assess
    expect(endpoint.href).toBe("https://ssm.cn-north-1.amazonaws.com.cn/");
  });

  it.each([
    ["the region option first", { region: "ap-south-1" }, { AWS_REGION: "us-east-1", AWS_DEFAULT_REGION: "us-west-2" }, "ap-south-1"],
    ["AWS_REGION next", {}, { AWS_REGION: "us-east-1", AWS_DEFAULT_REGION: "us-west-2" }, "us-east-1"],
    ["AWS_DEFAULT_REGION last", {}, { AWS_REGION: " ", AWS_DEFAULT_REGION: "us-west-2" }, "us-west-2"],
  ])("takes %s as the region", (_label, options, env, expected) => {
    // Act
    const { region } = new AwsJsonClient({ service: "dynamodb", env, ...options }).target;

    // Assess
    expect(region).toBe(expected);
  });

  it("sends calls to the endpoint the environment names, with the host it signed", async () => {
    // Prepare
    server = await startLoopbackAws();
    const env = {
      AWS_REGION: "us-east-1",
      AWS_ACCESS_KEY_ID: "AKID",
      AWS_SECRET_ACCESS_KEY: "secret",
      AWS_ENDPOINT_URL: "http://127.0.0.1:9",
      AWS_ENDPOINT_URL_DYNAMODB: server.endpoint,
    };

    // Act
    await new AwsJsonClient({ service: "dynamodb", env }).call("GetItem", {});

    // Assess
    expect(server.calls[0]?.headers.host).toBe(new URL(server.endpoint).host);
  });

  it("reads nothing when built, and fails a call clearly when there is no region", async () => {
    // Prepare
    const sleep = vi.fn(async () => {});
    const client = new AwsJsonClient({ service: "dynamodb", env: {}, credentials: CREDENTIALS, sleep });

    // Act
    const error = await rejection(client.call("GetItem", {}));

    // Assess
    expect(error.name).toBe("ConfigurationError");
    expect(error.message).toContain("AWS_REGION");
    expect(sleep).not.toHaveBeenCalled();
  });

  it.each(["ftp://example.com", "localhost:8000", "not a url", "file:///tmp/socket"])(
    "fails a call clearly for the endpoint %j",
    async (endpoint) => {
      // Prepare
      const client = new AwsJsonClient({ service: "dynamodb", region: "us-east-1", endpoint, credentials: CREDENTIALS, env: {} });

      // Act
      const error = await rejection(client.call("GetItem", {}));

      // Assess
      expect(error.name).toBe("ConfigurationError");
      expect(error.message).toBe(`the dynamodb endpoint must be an http(s) URL, not ${JSON.stringify(endpoint)}`);
    },
  );

  it.each([
    ["no credentials", {}],
    ["an access key without its secret", { AWS_ACCESS_KEY_ID: "AKID", AWS_SECRET_ACCESS_KEY: " " }],
  ])("fails a call clearly, sending nothing, with %s", async (_label, credentialsEnv) => {
    // Prepare
    server = await startLoopbackAws();
    const sleep = vi.fn(async () => {});
    const client = new AwsJsonClient({
      service: "dynamodb",
      env: { AWS_REGION: "us-east-1", AWS_ENDPOINT_URL: server.endpoint, ...credentialsEnv },
      sleep,
    });

    // Act
    const error = await rejection(client.call("GetItem", {}));

    // Assess
    expect(error.name).toBe("CredentialsError");
    expect(error.message).toContain("AWS_ACCESS_KEY_ID");
    expect(error.message).toContain("AWS_SECRET_ACCESS_KEY");
    expect(server.calls).toHaveLength(0);
    expect(sleep).not.toHaveBeenCalled();
  });
});
